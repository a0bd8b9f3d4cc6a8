# SPDX-License-Identifier: BSD-2-Clause
# Shared by the benchmarks: root and tools checked, a private network namespace with lo up, and
# the processes started here killed (by PID) and the namespace deleted at exit.

need_root_and() {
	local t
	[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
	for t in "$@"; do
		command -v "$t" >/dev/null || { echo "bench: $t is missing (bash .ci/deps)" >&2; exit 1; }
	done
}

bench_cleanup() {
	local p
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
}

# Sets ns; processes added to pids are killed at exit.
bench_netns() {
	ns=tlsrec-bench-$$
	pids=()
	trap bench_cleanup EXIT
	ip netns add "$ns"
	ip -n "$ns" link set lo up
}

# An iperf3 server for one test, in ns.
iperf_server() { # [PORT]: default 5201
	local port=${1:-5201}
	ip netns exec "$ns" iperf3 -s -1 -p "$port" >/dev/null 2>&1 &
	pids+=($!)
	until [ -n "$(ip netns exec "$ns" ss -Hltn "sport = :$port")" ]; do sleep 0.05; done
}

cpu_ticks() { # PID: utime + stime of a process, all threads, in clock ticks
	sed 's/^.*) //' /proc/"$1"/stat | awk '{ print $12 + $13 }'
}

cpu_ns() { # PID: the time a process's threads (those alive now) have spent on a CPU, in ns
	{ cat /proc/"$1"/task/*/schedstat 2>/dev/null || true; } | awk '{ t += $1 } END { printf "%.0f\n", t }'
}

# bench_options "$@": -r REPS, -t SECONDS, -l LOADS and -o DIR into reps, secs, loads and out
# (the caller sets the defaults first).
bench_options() {
	local c OPTIND=1
	while getopts "r:t:l:o:" c; do
		case $c in
		r) reps=$OPTARG ;;
		t) secs=$OPTARG ;;
		l) loads=$OPTARG ;;
		o) out=$OPTARG; mkdir -p "$out" ;;
		*) exit 2 ;;
		esac
	done
}

# recorder_counts KIND LOG: the packets recorded and lost, from what tlsrec (KIND tlsrec) or
# tcpdump (any other KIND) printed at the end into LOG; sets recorded and lost.
recorder_counts() {
	if [ "$1" = tlsrec ]; then
		recorded=$(awk '/packets recorded/ { print $1 }' "$2")
		lost=$(awk '/packets lost/ { print $1 }' "$2")
	else
		recorded=$(awk '/packets captured/ { print $1 }' "$2")
		lost=$(awk '/dropped by kernel/ { print $1 }' "$2")
	fi
}
