#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/kernels/boot itself (ctest kernels.boot): the kernel it boots is the one asked for, the
# guest has what the end-to-end tests need (the same tools, mounts, tun, a writable /tmp, the
# output share), the command's exit status comes back, and a guest past its time is stopped.
# Usage: selftest.sh CACHE EXPECTED_RELEASE_PREFIX
set -euo pipefail
boot=$(dirname "$0")/boot
cache=$1
want=$2
out=$(mktemp -d /tmp/tlsrec-kernels-selftest.XXXXXX)
trap 'rm -rf "$out"' EXIT

fail() {
	echo "FAIL: kernels.boot: $*" >&2
	exit 1
}

# The guest checks itself and exits with 7: the status must come back as it is.
rc=0
"$boot" --cache "$cache" --out "$out/a" --timeout 300 -- bash -c '
	set -e
	uname -r
	for t in tshark tcpdump openssl curl nginx python3 ip tc ctest; do command -v "$t" >/dev/null ||
		{ echo "no $t"; exit 1; }; done
	for m in /sys/fs/bpf /sys/kernel/tracing /sys/fs/cgroup /dev/pts; do mountpoint -q "$m" ||
		{ echo "$m not mounted"; exit 1; }; done
	[ -c /dev/net/tun ] || { echo "no /dev/net/tun"; exit 1; }
	[ -c /dev/loop-control ] || { echo "no /dev/loop-control"; exit 1; }
	[ "$(cat <(echo fd))" = fd ] || { echo "no /dev/fd"; exit 1; }
	[ "$(id -u)" = 0 ] || { echo "not root"; exit 1; }
	ip netns add kselftest && ip netns del kselftest
	touch /tmp/kselftest.$$ && rm /tmp/kselftest.$$
	echo written >"$TLSREC_KERNEL_OUT/written"
	exit 7' || rc=$?
cat "$out/a/output" >&2
[ "$rc" = 7 ] || fail "the guest's checks exited with $rc, not 7"
release=$(cat "$out/a/release")
[[ $release == "$want"* ]] || fail "booted $release, not $want*"
[ "$(cat "$out/a/written")" = written ] || fail "what the guest wrote to the output share is not there"
# A guest that outlives its time: stopped, status 124, soon after.
start=$SECONDS
rc=0
"$boot" --cache "$cache" --out "$out/b" --timeout 20 -- sleep 600 || rc=$?
[ "$rc" = 124 ] || fail "a guest past its time ended with status $rc, not 124"
((SECONDS - start < 60)) || fail "a guest given 20 s took $((SECONDS - start)) s to stop"
echo "kernels.boot: $release boots, runs commands as root with the host's tools, returns their status, and is stopped on time"
