#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tlsasm's conversion rate: record a UDP flood (iperf3, 200-byte datagrams, full speed) over lo in
# a private namespace, then time tlsasm converting the journal to pcapng, to /dev/null and to a
# file, with hyperfine. Usage (as root, from the source tree):
#
#   bench/tlsasm_rate.sh [-t SECONDS] [-r RUNS] [-o DIR]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
TLSREC=${TLSREC:-$here/../build/recorder/tlsrec}
TLSASM=${TLSASM:-$here/../build/assemble/tlsasm}
secs=10
runs=5
out=$(mktemp -d /tmp/tlsrec-bench.XXXXXX)
while getopts "t:r:o:" c; do
	case $c in
	t) secs=$OPTARG ;;
	r) runs=$OPTARG ;;
	o) out=$OPTARG; mkdir -p "$out" ;;
	*) exit 2 ;;
	esac
done
need_root_and iperf3 hyperfine "$TLSREC" "$TLSASM"
bench_netns
iperf_server
ip netns exec "$ns" "$TLSREC" -i lo -w "$out/j.lz4" 2>"$out/tlsrec.log" &
rec=$!
pids+=($rec)
until grep -qs "recording on" "$out/tlsrec.log"; do sleep 0.05; done
ip netns exec "$ns" iperf3 -c 127.0.0.1 -u -l 200 -b 0 -t "$secs" >/dev/null
kill -INT "$rec"
wait "$rec" || true
packets=$(awk '/packets recorded/ { print $1 }' "$out/tlsrec.log")
size=$(stat -c %s "$out/j.lz4")

hyperfine -N -w 1 -r "$runs" --export-json "$out/hyperfine.json" \
	"$TLSASM $out/j.lz4 -o /dev/null" "$TLSASM $out/j.lz4 -o $out/out.pcapng" >&2
python3 - "$out/hyperfine.json" "$packets" "$size" "$(stat -c %s "$out/out.pcapng")" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
packets, size, pcap = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print("| output | packets | journal MB | pcapng MB | median s | packets/s | journal MB/s |")
print("|---|---:|---:|---:|---:|---:|---:|")
for r, name in zip(res, ("/dev/null", "file")):
    t = r["median"]
    print("| %s | %d | %.1f | %.1f | %.3f | %.2fM | %.0f |" % (name, packets, size / 1e6, pcap / 1e6, t,
          packets / t / 1e6, size / t / 1e6))
PY
