#!/usr/bin/env bash
# Makes (once) a Debian unstable root holding CPython 3.14 and 3.15 with their
# headers and test suites, a C linker for cargo, iproute2 for the tests that
# make network namespaces, and nothing of the project's.
# Debian serves these interpreters only as binary packages for unstable, and
# they need unstable's C library, so they run chrooted (tools/matrix/in-root.sh).
#
#   tools/matrix/sid-root.sh ROOT
#
# ROOT lives in a cache outside the clone (make test-matrix passes
# $(MATRIX_CACHE)/sid-root): a fresh clone reuses it, a new machine rebuilds it.
# The root is complete when ROOT/.oxpickle-root names the package list below;
# a changed list or an interrupted run starts over.
set -euo pipefail

root=${1:?usage: sid-root.sh ROOT}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=(
    ca-certificates gcc libc6-dev iproute2
    python3.14 python3.14-dev python3.14-venv libpython3.14-testsuite
    python3.15 python3.15-dev python3.15-venv libpython3.15-testsuite
)
stamp="packages: ${packages[*]}"

if [[ -f "$root/.oxpickle-root" && "$(cat "$root/.oxpickle-root")" == "$stamp" ]]; then
    exit 0
fi
if [[ $EUID -ne 0 ]]; then
    echo "sid-root: debootstrap and chroot need root; run make test-matrix as root" >&2
    exit 1
fi
if ! command -v debootstrap >/dev/null; then
    echo "sid-root: installing debootstrap (Debian's package)" >&2
    apt-get install -y -qq debootstrap >/dev/null
fi

partial="$root.partial"
rm -rf "$partial"
mkdir -p "$(dirname "$root")"
echo "sid-root: debootstrap of Debian unstable into $root (a few minutes, once per machine)" >&2
debootstrap --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" \
    sid "$partial" "$mirror" >"$partial.log" 2>&1 || {
    echo "sid-root: debootstrap failed; its log is $partial.log" >&2
    tail -20 "$partial.log" >&2
    exit 1
}
rm -f "$partial.log"
echo "$stamp" >"$partial/.oxpickle-root"
rm -rf "$root"
mv "$partial" "$root"
