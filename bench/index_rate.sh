#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tlsasm index's rate: record a UDP flood (iperf3, 200-byte datagrams, full speed) and a loop of
# short TCP connections (curl to a local python3 http.server) over lo in a private namespace, then
# time building the index from nothing, indexing again with nothing new, and indexing again after
# a second journal of the same recording style was added. Usage (as root, from the source tree):
#
#   bench/index_rate.sh [-t SECONDS] [-n CONNECTIONS] [-o DIR]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
TLSREC=${TLSREC:-$here/../build/recorder/tlsrec}
TLSASM=${TLSASM:-$here/../build/assemble/tlsasm}
secs=5
conns=200
out=$(mktemp -d /tmp/tlsrec-bench.XXXXXX)
while getopts "t:n:o:" c; do
	case $c in
	t) secs=$OPTARG ;;
	n) conns=$OPTARG ;;
	o) out=$OPTARG; mkdir -p "$out" ;;
	*) exit 2 ;;
	esac
done
need_root_and iperf3 curl python3 "$TLSREC" "$TLSASM"
bench_netns

# record NAME: a journal of the flood and the connection loop.
record() {
	iperf_server
	ip netns exec "$ns" "$TLSREC" -i lo -w "$out/$1" 2>"$out/$1.log" &
	local rec=$!
	pids+=($rec)
	until grep -qs "recording on" "$out/$1.log"; do sleep 0.05; done
	ip netns exec "$ns" python3 -m http.server -b 127.0.0.1 8000 -d "$out" >/dev/null 2>&1 &
	local web=$!
	pids+=($web)
	until ip netns exec "$ns" curl -s -o /dev/null http://127.0.0.1:8000/; do sleep 0.05; done
	ip netns exec "$ns" iperf3 -c 127.0.0.1 -u -l 200 -b 0 -t "$secs" >/dev/null
	for _ in $(seq "$conns"); do
		ip netns exec "$ns" curl -s -o /dev/null http://127.0.0.1:8000/
	done
	kill "$web"
	kill -INT "$rec"
	wait "$rec" || true
}

# t COMMAND...: wall-clock seconds of one run.
t() {
	local s e
	s=$(date +%s.%N)
	"$@" >"$out/last.out"
	e=$(date +%s.%N)
	echo "$e - $s" | bc
}

record a.lz4
record b.lz4
packets=$(awk '/packets recorded/ { print $1 }' "$out/a.lz4.log")
size=$(stat -c %s "$out/a.lz4")
rm -f "$out/i.db"*
full=$(t "$TLSASM" index --db "$out/i.db" "$out/a.lz4")
cat "$out/last.out" >&2
again=$(t "$TLSASM" index --db "$out/i.db" "$out/a.lz4")
cat "$out/last.out" >&2
more=$(t "$TLSASM" index --db "$out/i.db" "$out/a.lz4" "$out/b.lz4")
cat "$out/last.out" >&2
conv=$(t "$TLSASM" "$out/a.lz4" -o /dev/null)
echo "| journal | packets | MB | full index s | packets/s | again, nothing new s | again, + a second journal s | conversion to pcapng s |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
printf "| a.lz4 | %d | %.1f | %.2f | %.0f | %.3f | %.2f | %.2f |\n" "$packets" "$(echo "$size / 1000000" | bc -l)" \
	"$full" "$(echo "$packets / $full" | bc -l)" "$again" "$more" "$conv"
