#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Recorder cost under a UDP flood: iperf3 sends 200-byte datagrams over lo in a private namespace
# at fixed offered loads and at full speed, while tlsrec -w or tcpdump -w records lo. Runs
# alternate (none, tlsrec, tcpdump, tcpdump -B 16384, none, tlsrec, ...) and the table gives
# medians. CPU is the recorder process's own, all threads, from schedstat; work done on its behalf
# elsewhere (the BPF program or packet socket in the sender's softirq, kernel writeback threads)
# shows in the sender's rate. Usage (as root, from the source tree, with TLSREC set or built in
# build/):
#
#   bench/udp_flood.sh [-r REPS] [-t SECONDS] [-l "50000 100000 200000 max"] [-o DIR]
#
# Prints a Markdown table; raw per-run figures go to DIR/runs.csv.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
TLSREC=${TLSREC:-$here/../build/recorder/tlsrec}
reps=3
secs=5
loads="50000 100000 200000 max"
out=$(mktemp -d /tmp/tlsrec-bench.XXXXXX)
bench_options "$@"
need_root_and iperf3 tcpdump python3 "$TLSREC"
bench_netns

# run RECORDER LOAD REP: one measurement, appended to runs.csv
run() {
	local recorder=$1 load=$2 rep=$3 file log rec="" cpu=0 cpu0=0 bytes=0 recorded=0 lost=0 rate
	log=$out/$recorder-$load-$rep.log
	rate=$([ "$load" = max ] && echo 0 || echo $((load * 200 * 8)))
	iperf_server
	case $recorder in
	tlsrec)
		file=$out/j.lz4
		ip netns exec "$ns" "$TLSREC" -i lo -w "$file" 2>"$log" &
		rec=$!
		until grep -qs "recording on" "$log"; do sleep 0.05; done ;;
	tcpdump | tcpdump-B16M)
		file=$out/j.pcap
		local b=()
		[ "$recorder" = tcpdump-B16M ] && b=(-B 16384)
		ip netns exec "$ns" tcpdump -i lo "${b[@]}" -w "$file" 2>"$log" &
		rec=$!
		until grep -qs "listening on" "$log"; do sleep 0.05; done ;;
	none) ;;
	esac
	[ -n "$rec" ] && cpu0=$(cpu_ns "$rec")
	ip netns exec "$ns" iperf3 -c 127.0.0.1 -u -l 200 -b "$rate" -t "$secs" --json >"$out/iperf.json"
	# tcpdump hands over a TPACKET_V3 block when it is full or after a 1 s timeout: wait for it.
	sleep 1.5
	if [ -n "$rec" ]; then
		cpu=$(($(cpu_ns "$rec") - cpu0))
		cpu=$(awk -v ns="$cpu" 'BEGIN { printf "%.4f\n", ns / 1e9 }')
		kill -INT "$rec"
		wait "$rec" || true
		bytes=$(stat -c %s "$file")
		recorder_counts "$recorder" "$log"
		rm -f "$file"
	fi
	python3 - "$out/iperf.json" "$recorder" "$load" "$rep" "$recorded" "$lost" "$cpu" "$bytes" \
		>>"$out/runs.csv" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))["end"]
recorder, load, rep, recorded, lost, cpu, size = sys.argv[2:]
sent, recv = j["sum_sent"], j["sum_received"]
print(",".join(str(x) for x in (recorder, load, rep, sent["packets"], sent["seconds"],
      recv["packets"] - recv["lost_packets"], recorded, lost, cpu, size)))
EOF
}

echo "recorder,load,rep,offered,seconds,delivered,recorded,lost,cpu_s,output_bytes" >"$out/runs.csv"
for load in $loads; do
	for ((rep = 1; rep <= reps; rep++)); do
		for recorder in none tlsrec tcpdump tcpdump-B16M; do
			run "$recorder" "$load" "$rep"
		done
	done
done

python3 - "$out/runs.csv" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
med = lambda rs, f: statistics.median(float(r[f]) for r in rs)
print("| load (pkt/s) | recorder | sent (pkt/s) | recorded | lost | recorder CPU s | CPU s / Mpkt (median, min-max) | output MB | bytes / pkt |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for load in dict.fromkeys(r["load"] for r in rows):
    for rec in dict.fromkeys(r["recorder"] for r in rows):
        rs = [r for r in rows if r["load"] == load and r["recorder"] == rec]
        n, cpu, out = med(rs, "recorded"), med(rs, "cpu_s"), med(rs, "output_bytes")
        per = sorted(float(r["cpu_s"]) / float(r["recorded"]) * 1e6 for r in rs if float(r["recorded"]))
        none = rec == "none"
        print("| %s | %s | %d | %s | %s | %s | %s | %s | %s |" % (
            load, rec, med(rs, "offered") / med(rs, "seconds"),
            "-" if none else "%d" % n, "-" if none else "%d" % med(rs, "lost"),
            "-" if none else "%.3f" % cpu,
            "-" if none else "%.3f (%.3f-%.3f)" % (statistics.median(per), per[0], per[-1]),
            "-" if none else "%.1f" % (out / 1e6), "-" if none else "%.0f" % (out / n)))
EOF
echo >&2 "bench: raw figures in $out/runs.csv"
