#!/usr/bin/env bash
# Runs a command inside the Debian unstable root (tools/matrix/sid-root.sh)
# with the project, the host's Rust toolchain and its cargo cache mounted at
# their own paths, so builds there use the host's cargo and write the
# project's target folder.
#
#   tools/matrix/in-root.sh ROOT COMMAND [ARG...]
#
# The mounts live in a private mount namespace: they vanish when the
# command ends, however it ends, and the host's mount table never sees them.
set -euo pipefail

root=${1:?usage: in-root.sh ROOT COMMAND [ARG...]}
shift
project=$(cd "$(dirname "$0")/../.." && pwd)
rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
cargo_home=${CARGO_HOME:-$HOME/.cargo}

# Name resolution for pip and cargo, as the host has it now.
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# The host's network settings go in with it: the certificates it trusts
# (its /etc/ssl/certs is mounted over the root's) and any proxy.
passed=()
for name in SSL_CERT_FILE SSL_CERT_DIR PIP_CERT REQUESTS_CA_BUNDLE CURL_CA_BUNDLE \
    PIP_DEFAULT_TIMEOUT PIP_INDEX_URL http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    [[ -n "${!name:-}" ]] && passed+=("$name=${!name}")
done

exec unshare --mount --propagation private -- bash -euo pipefail -c '
    root=$1 project=$2 rustup_home=$3 cargo_home=$4 count=$5
    passed=("${@:6:count}")
    shift $((5 + count))
    bind() { mkdir -p "$root$2"; mount --rbind "$1" "$root$2"; }
    # The root made a mount point of its own: "ip netns exec" and "ip -n"
    # remount / as a slave, which fails on a directory that is not one.
    mount --bind "$root" "$root"
    mount -t proc proc "$root/proc"
    bind /dev /dev
    bind /sys /sys
    mount -t tmpfs -o size=8g tmpfs "$root/tmp"
    bind "$project" "$project"
    bind "$rustup_home" "$rustup_home"
    bind "$cargo_home" "$cargo_home"
    bind /etc/ssl/certs /etc/ssl/certs
    exec chroot "$root" /usr/bin/env -i \
        HOME="$HOME" LANG=C.UTF-8 TERM=dumb \
        RUSTUP_HOME="$rustup_home" CARGO_HOME="$cargo_home" \
        PATH="$cargo_home/bin:/usr/local/bin:/usr/bin:/bin" \
        "${passed[@]}" \
        bash -c "cd \"\$0\" && exec \"\$@\"" "$project" "$@"
' in-root "$root" "$project" "$rustup_home" "$cargo_home" "${#passed[@]}" "${passed[@]}" "$@"
