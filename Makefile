# Everything the project needs is installed from its own files into .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test demo bench callgrind scan-compare lint build build-release clean

## test: build the extension, run cargo test, clippy, ruff and pytest
test: build
	cargo test --workspace --exclude oxpickle-py
	cargo clippy --workspace --all-targets -- -D warnings
	cargo fmt --all -- --check
	$(VENV)/bin/ruff check python tests benches
	$(PY) -m pytest

## demo: build a release extension and run the main job
demo: build-release
	$(PY) -m oxpickle demo

## bench: release build, side-by-side benchmark; QUICK=1 for a short run
bench: build-release
	$(PY) -m benches.run --update-readme $(if $(QUICK),--quick,)

## callgrind: instruction counts of dumps/loads, oxpickle vs pickle (needs valgrind)
callgrind: build-release
	$(PY) -m benches.callgrind

## scan-compare: release build; oxpickle's scanner and picklescan over the shared
## corpus, table written to benches/scan_results.md (not part of test)
scan-compare: build-release
	$(PY) -m benches.scan_compare --output benches/scan_results.md

lint:
	cargo clippy --workspace --all-targets -- -D warnings
	cargo fmt --all -- --check
	$(VENV)/bin/ruff check python tests benches

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
