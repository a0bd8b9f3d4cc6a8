#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Filtered extraction against journal size: two recordings over lo in a private namespace, each an
# iperf3 TCP transfer (2 Gbit/s, which tlsrec keeps up with) with one curl request to openssl
# s_server -www in the middle of it, about SMALL and LARGE MB of traffic. For each: build the
# index, then time `tlsasm --pid CURL` (one small TLS connection, read from the chunks that hold
# it) and a full conversion of the same journal. Files stay in the page cache: this measures
# tlsasm, not the disk. Usage (as root, from the source tree):
#
#   bench/extract_scale.sh [-s SMALL_MB] [-l LARGE_MB] [-r RUNS] [-o DIR]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
TLSREC=${TLSREC:-$here/../build/recorder/tlsrec}
TLSASM=${TLSASM:-$here/../build/assemble/tlsasm}
small=100
large=1000
runs=5
out=$(mktemp -d /tmp/tlsrec-bench.XXXXXX)
while getopts "s:l:r:o:" c; do
	case $c in
	s) small=$OPTARG ;;
	l) large=$OPTARG ;;
	r) runs=$OPTARG ;;
	o) out=$OPTARG; mkdir -p "$out" ;;
	*) exit 2 ;;
	esac
done
need_root_and iperf3 curl openssl tshark "$TLSREC" "$TLSASM"
bench_netns
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=bench -days 1 \
	-keyout "$out/key.pem" -out "$out/cert.pem" 2>/dev/null
ip netns exec "$ns" openssl s_server -accept 4433 -cert "$out/cert.pem" -key "$out/key.pem" \
	-www -quiet >/dev/null 2>&1 &
server=$!
pids+=($server)
until [ -n "$(ip netns exec "$ns" ss -Hltn 'sport = :4433')" ]; do sleep 0.05; done

# record NAME MB: iperf3 sends MB/2, curl asks once, iperf3 sends MB/2. Sets curl_pid.
record() {
	local half=$(($2 / 2))
	ip netns exec "$ns" "$TLSREC" -i lo -B 262144 -p "$server" -w "$out/$1" 2>"$out/$1.log" &
	local rec=$!
	pids+=($rec)
	until grep -qs "recording on" "$out/$1.log"; do sleep 0.05; done
	iperf_server
	ip netns exec "$ns" iperf3 -c 127.0.0.1 -b 2G -n "${half}M" >/dev/null
	ip netns exec "$ns" bash -c 'echo $$ >"$0"; exec curl -sk -o /dev/null https://127.0.0.1:4433/one' \
		"$out/$1.curl"
	iperf_server
	ip netns exec "$ns" iperf3 -c 127.0.0.1 -b 2G -n "${half}M" >/dev/null
	# Let the writer catch up with the burst (the file grows by less than 1 MB a second) before
	# stopping.
	local a=-1 b
	while b=$(stat -c %s "$out/$1") && [ $((b - a)) -gt 1000000 ]; do a=$b; sleep 1; done
	kill -INT "$rec"
	wait "$rec" || true
}

# median COMMAND...: the median wall-clock seconds of $runs runs.
median() {
	local i s e
	for ((i = 0; i < runs; i++)); do
		s=$(date +%s.%N)
		"$@" >/dev/null 2>&1
		e=$(date +%s.%N)
		echo "$e - $s" | bc
	done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

echo "| journal | size | packets | index build | extract one connection (--pid) | full conversion |"
echo "|---|---:|---:|---:|---:|---:|"
for spec in "small $small" "large $large"; do
	set -- $spec
	j=$1.lz4
	record "$j" "$2"
	pid=$(cat "$out/$j.curl")
	size=$(du -m "$out/$j" | cut -f1)
	s=$(date +%s.%N)
	"$TLSASM" index "$out/$j" >/dev/null 2>&1
	build=$(echo "$(date +%s.%N) - $s" | bc)
	extract=$(median "$TLSASM" --pid "$pid" "$out/$j" -o "$out/$1.one.pcapng")
	full=$(median "$TLSASM" "$out/$j" -o "$out/$1.full.pcapng")
	packets=$(tshark -r "$out/$1.full.pcapng" 2>/dev/null | wc -l)
	one=$(tshark -r "$out/$1.one.pcapng" -o http.desegment_body:FALSE -Y http 2>/dev/null | wc -l)
	[ "$one" -ge 2 ] || { echo "bench: the extracted connection does not decrypt ($one HTTP lines)" >&2; exit 1; }
	grep -qE '^[1-9][0-9]* .*lost' "$out/$j.log" && { echo "bench: tlsrec lost records: $(cat "$out/$j.log")" >&2; exit 1; }
	printf '| %s | %s MB | %s | %.2f s | %.3f s | %.2f s |\n' "$j" "$size" "$packets" "$build" \
		"$extract" "$full"
	rm -f "$out/$1.full.pcapng"
done
