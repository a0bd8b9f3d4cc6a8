#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The capture filter under a UDP flood where 1% of the packets match: iperf3 sends 200-byte
# datagrams over lo in a private namespace to port 5201 at LOAD packets/s, and a second iperf3
# sends LOAD/100 to port 5202, while one recorder records lo (or none):
#   tlsrec-filter  tlsrec -i lo -w J udp port 5202
#   tlsrec         tlsrec -i lo -w J                 (everything)
#   tcpdump-filter tcpdump -i lo -w F udp port 5202
# Runs alternate (tlsrec-filter, tlsrec, tcpdump-filter, none, tlsrec-filter, ...); the table gives
# medians. CPU is the recorder process's utime + stime (all threads, /proc/PID/stat) over the
# flood; what the TC programs cost runs in the senders' softirq and shows in the rate they reach.
# Usage (as root, from the source tree, with TLSREC set or built in build/):
#
#   bench/filter_flood.sh [-r REPS] [-t SECONDS] [-l "100000 400000"] [-o DIR]
#
# Prints a Markdown table; raw per-run figures go to DIR/runs.csv.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
TLSREC=${TLSREC:-$here/../build/recorder/tlsrec}
reps=5
secs=5
loads="100000 400000"
expr="udp port 5202"
out=$(mktemp -d /tmp/tlsrec-bench.XXXXXX)
bench_options "$@"
need_root_and iperf3 tcpdump python3 "$TLSREC"
bench_netns
tck=$(getconf CLK_TCK)

# run RECORDER LOAD REP: one measurement, appended to runs.csv
run() {
	local recorder=$1 load=$2 rep=$3 file=/dev/null log rec="" cpu0=0 cpu=0 recorded=0 lost=0
	local bytes=0 few
	log=$out/$recorder-$load-$rep.log
	iperf_server 5201
	iperf_server 5202
	case $recorder in
	tlsrec-filter | tlsrec)
		file=$out/j.lz4
		local e=()
		[ "$recorder" = tlsrec-filter ] && e=($expr)
		ip netns exec "$ns" "$TLSREC" -i lo -w "$file" "${e[@]}" 2>"$log" &
		rec=$!
		until grep -qs "recording on" "$log"; do sleep 0.05; done ;;
	tcpdump-filter)
		file=$out/j.pcap
		ip netns exec "$ns" tcpdump -i lo -w "$file" $expr 2>"$log" &
		rec=$!
		until grep -qs "listening on" "$log"; do sleep 0.05; done ;;
	none) ;;
	esac
	[ -n "$rec" ] && cpu0=$(cpu_ticks "$rec")
	ip netns exec "$ns" iperf3 -c 127.0.0.1 -p 5202 -u -l 200 -b $((load / 100 * 200 * 8)) \
		-t "$secs" --json >"$out/few.json" &
	few=$!
	ip netns exec "$ns" iperf3 -c 127.0.0.1 -p 5201 -u -l 200 -b $((load * 200 * 8)) \
		-t "$secs" --json >"$out/many.json"
	wait "$few"
	# tcpdump hands over a TPACKET_V3 block when it is full or after a 1 s timeout: wait for it.
	sleep 1.5
	if [ -n "$rec" ]; then
		cpu=$(awk -v a="$cpu0" -v b="$(cpu_ticks "$rec")" -v tck="$tck" 'BEGIN { printf "%.2f", (b - a) / tck }')
		kill -INT "$rec"
		wait "$rec" || true
		bytes=$(stat -c %s "$file")
		recorder_counts "${recorder%-filter}" "$log"
		rm -f "$file"
	fi
	python3 - "$out/many.json" "$out/few.json" "$recorder" "$load" "$rep" "$recorded" "$lost" \
		"$cpu" "$bytes" >>"$out/runs.csv" <<'PY'
import json, sys
many, few = (json.load(open(f))["end"]["sum_sent"] for f in sys.argv[1:3])
recorder, load, rep, recorded, lost, cpu, size = sys.argv[3:]
print(",".join(str(x) for x in (recorder, load, rep, many["packets"] + few["packets"],
      few["packets"], many["seconds"], recorded, lost, cpu, size)))
PY
}

echo "recorder,load,rep,sent,sent_matching,seconds,recorded,lost,cpu_s,output_bytes" >"$out/runs.csv"
for load in $loads; do
	for ((rep = 1; rep <= reps; rep++)); do
		for recorder in tlsrec-filter tlsrec tcpdump-filter none; do
			run "$recorder" "$load" "$rep"
		done
	done
done

python3 - "$out/runs.csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
med = lambda rs, f: statistics.median(float(r[f]) for r in rs)
print("| load (pkt/s) | recorder | sent (pkt/s) | matching sent | recorded | lost | recorder CPU s (median, min-max) | output MB |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for load in dict.fromkeys(r["load"] for r in rows):
    for rec in dict.fromkeys(r["recorder"] for r in rows):
        rs = [r for r in rows if r["load"] == load and r["recorder"] == rec]
        cpus = sorted(float(r["cpu_s"]) for r in rs)
        cols = ["%d" % med(rs, "recorded"), "%d" % med(rs, "lost"),
                "%.2f (%.2f-%.2f)" % (statistics.median(cpus), cpus[0], cpus[-1]),
                "%.1f" % (med(rs, "output_bytes") / 1e6)]
        print("| %s | %s | %d | %d | %s |" % (
            load, rec, med(rs, "sent") / med(rs, "seconds"), med(rs, "sent_matching"),
            " | ".join("-" for c in cols) if rec == "none" else " | ".join(cols)))
PY
echo >&2 "bench: raw figures in $out/runs.csv"
