# Everything the project needs is installed from its own files into .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test test-matrix test-cloudpickle demo bench callgrind scan-compare fuzz lint build build-release clean

## test: build the extension, run cargo test, clippy, ruff and pytest
test: build
	cargo test --workspace --exclude oxpickle-py
	cargo clippy --workspace --all-targets -- -D warnings
	cargo fmt --all -- --check
	$(VENV)/bin/ruff check python tests benches tools
	$(PY) -m pytest

## test-matrix: the whole suite (clippy and pytest, CPython's own pickle suite
## included) on every supported CPython, 3.11 to 3.15; 3.14 and 3.15 come from
## a Debian unstable root made once per machine in MATRIX_CACHE (needs root);
## VERSIONS="3.12 3.14" runs some only. Table in target/matrix/summary.md
MATRIX_CACHE ?= $(HOME)/.cache/oxpickle-matrix
test-matrix: build
	$(PY) tools/matrix/run.py --cache $(MATRIX_CACHE) $(if $(VERSIONS),--versions $(VERSIONS),)

## test-cloudpickle: cloudpickle's own test suite, run against oxpickle through a
## module named cloudpickle, with default and deterministic dumps; the suite is
## third-party code read from CLOUDPICKLE_SUITE (the one target that reads
## ../shared: make test needs nothing beside the repository); writes the results table to tests/BYVALUE_COVERAGE.md
CLOUDPICKLE_SUITE ?= ../shared/conformance/cloudpickle
test-cloudpickle: build
	$(PY) tests/cloudpickle_suite/run.py --suite $(CLOUDPICKLE_SUITE) \
		--coverage tests/BYVALUE_COVERAGE.md

## demo: build a release extension and run the main job
demo: build-release
	$(PY) -m oxpickle demo

## bench: release build, side-by-side benchmark (benches/results.md), then the
## process pools (benches/processes_results.md), then Dask and joblib
## (benches/clusters_results.md); QUICK=1 for a short run.
## PYTHON=3.12 (any supported version after the project's 3.11) runs it on
## that CPython from the matrix's environments: full results in
## target/matrix/<version>/bench, the version's summary line in benches/results.md
MATRIX_BENCH := $(filter $(PYTHON),3.12 3.13 3.14 3.15)
ifeq ($(PYTHON),3.11)
override PYTHON := python3.11
else ifneq ($(filter 3.%,$(PYTHON)),)
ifeq ($(MATRIX_BENCH),)
$(error PYTHON=$(PYTHON): the supported versions are 3.11 to 3.15)
endif
endif
ifeq ($(MATRIX_BENCH),)
bench: build-release
	$(PY) -m benches.run --update-readme $(if $(QUICK),--quick,)
	$(PY) -m benches.processes $(if $(QUICK),--quick,)
	$(PY) -m benches.clusters $(if $(QUICK),--quick,)
else
bench:
	python3 tools/matrix/run.py --cache $(MATRIX_CACHE) --bench $(MATRIX_BENCH) $(if $(QUICK),--quick,)
endif

## callgrind: instruction counts of dumps/loads, oxpickle vs pickle (needs valgrind)
callgrind: build-release
	$(PY) -m benches.callgrind

## scan-compare: release build; oxpickle's scanner and picklescan over picklescan's
## corpus (tests/data/picklescan), table written to benches/scan_results.md (not part of test)
scan-compare: build-release
	$(PY) -m benches.scan_compare --output benches/scan_results.md

## fuzz: cargo-fuzz (nightly) on the core's decoder, value machine and disassembler,
## FUZZ_SECONDS each (default 60), or FUZZ_RUNS executions each; crashers land
## in fuzz/artifacts/<target>/; FUZZ_MAX_LEN caps input size (default 4096)
FUZZ_SECONDS ?= 60
FUZZ_MAX_LEN ?= 4096
FUZZ_TARGETS := decode value dis
FUZZ_LIMIT = $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_SECONDS))
CARGO_FUZZ := .tools/bin/cargo-fuzz
fuzz: $(CARGO_FUZZ)
	@for target in $(FUZZ_TARGETS); do \
		echo "== $$target"; \
		PATH="$(abspath .tools/bin):$$PATH" cargo +nightly fuzz run -O $$target -- \
			$(FUZZ_LIMIT) -max_len=$(FUZZ_MAX_LEN) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
			2>&1 | grep -E "^(Done|stat::number_of_executed_units|==[0-9]+== ERROR)|panicked|crash-" \
			|| true; \
		test -z "$$(ls fuzz/artifacts/$$target 2>/dev/null)" || { echo "crashers in fuzz/artifacts/$$target"; exit 1; }; \
	done

$(CARGO_FUZZ):
	cargo install cargo-fuzz --locked --root .tools

lint:
	cargo clippy --workspace --all-targets -- -D warnings
	cargo fmt --all -- --check
	$(VENV)/bin/ruff check python tests benches tools

$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

build: $(STAMP)
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop --quiet --profile dev-opt

build-release: $(STAMP)
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop --quiet --release

clean:
	cargo clean
	rm -rf $(VENV)
