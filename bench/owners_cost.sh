#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# What recording socket owners costs per connection: bench/conn_loop.c makes plain TCP connections
# on lo (connect, accept, close; no TLS, so no uprobe fires) one at a time, in a private namespace,
# with no recorder and with two tlsrec builds (OLD and NEW, to compare a change to the sockets
# programs), each recording an idle veth of the namespace (-i idle0): the sockets programs are
# attached, no packet is captured. Then the same for getppid() in a loop, to show what the accept
# tracepoints (syscall tracepoints: every syscall of every process takes the slow path while one
# is enabled) cost a syscall. Alternating none, OLD, NEW, none, ...; medians.
#
# Usage (as root, from the source tree): bench/owners_cost.sh OLD_TLSREC NEW_TLSREC [ROUNDS] [SECONDS]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
old=$1 new=$2 rounds=${3:-7} secs=${4:-3}
need_root_and gcc "$old" "$new"
bench_netns
ip -n "$ns" link add idle0 type veth peer name idle1
ip -n "$ns" link set idle0 up
work=$(mktemp -d /tmp/tlsrec-bench-work.XXXXXX)
trap 'bench_cleanup; rm -rf "$work"' EXIT
gcc -O2 -o "$work/conn_loop" "$here/conn_loop.c" -lpthread

# run NAME TLSREC|none: one round; appends "NAME connections/s syscalls/s" to runs.
run() {
	local rec=""
	if [ "$2" != none ]; then
		ip netns exec "$ns" "$2" -i idle0 -w "$work/j.lz4" 2>"$work/rec.log" &
		rec=$!
		pids+=("$rec")
		until grep -q "recording" "$work/rec.log"; do sleep 0.05; done
	fi
	echo "$1 $(ip netns exec "$ns" "$work/conn_loop" connect "$secs") $(ip netns exec "$ns" "$work/conn_loop" syscall "$secs")" >>"$work/runs"
	if [ -n "$rec" ]; then
		kill -INT "$rec"
		wait "$rec" || true
		sleep 1 # removing uprobes and programs goes on in the background for a moment
	fi
}

for ((i = 0; i < rounds; i++)); do
	run none none
	run old "$old"
	run new "$new"
done
python3 - "$work/runs" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    n, c, s = line.split()
    runs.setdefault(n, []).append((float(c), float(s)))
base = [statistics.median(x[i] for x in runs["none"]) for i in (0, 1)]
print("| recorder | connections/s (median) | vs none | µs per connection | getppid()/s (median) | ns per syscall |")
print("|---|---:|---:|---:|---:|---:|")
for n, label in (("none", "none"), ("old", "OLD tlsrec -i idle0"), ("new", "NEW tlsrec -i idle0")):
    c, s = (statistics.median(x[i] for x in runs[n]) for i in (0, 1))
    print(f"| {label} | {c:.0f} | {c / base[0]:.2f} | {1e6 / c:.1f} | {s:.0f} | {1e9 / s:.0f} |")
PY
