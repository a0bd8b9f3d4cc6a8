#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# What recording costs an HTTPS server: nginx (one worker) serves a 3-byte answer over TLS 1.3 on lo
# in a private namespace, and wrk (one thread, 16 connections) loads it, with keep-alive and with a
# new connection, so a new handshake, per request (-H 'Connection: close'; wrk keeps its session, so
# these handshakes resume it with a session ticket). Each workload runs with no recorder, tlsrec
# --secrets-only, tlsrec --no-secrets -i lo (packets and socket owners, no uprobes), tlsrec -i lo
# (packets and secrets) and tcpdump -i lo -w, alternating (none, secrets, packets, packets+secrets,
# tcpdump, none, ...), and the tables give medians. Each recorder is started, and ready, before wrk
# starts. Recorder CPU is the recorder's time on a CPU, all threads (/proc/PID/task/*/schedstat, in
# ns), from when it is ready to after the load, once it has written its records, per request served.
# "nginx+wrk CPU" is the worker's time on a CPU (schedstat) plus wrk's utime + stime (bash's time),
# per request served: it includes the uprobes' and TC programs' cost, which runs in their context.
# tlsrec's uprobes are system-wide: a run during which a tlsrec this script did not start was
# running is repeated (up to 3 times in all). Then tlsrec's start-up time (its own "ready in N ms",
# calibration included) and the time it takes to exit on SIGINT. With -S, kernel.bpf_stats_enabled
# is 1 while it runs, and a third table gives each of tlsrec's BPF programs' runs per request and
# time per run (counted from when tlsrec loads them, so its calibration's few handshakes are in; the
# counting itself costs the programs two clock reads a run: rates measured with -S are not
# comparable with those without).
# Usage (as root, from the source tree, with TLSREC set or built in build/):
#
#   bench/nginx_wrk.sh [-r ROUNDS] [-t SECONDS] [-c CONNECTIONS] [-s STARTS]
#                      [-w "keepalive close"] [-o DIR] [-S]
#
# Prints Markdown tables; raw per-run figures go to DIR/runs.csv and DIR/startup.csv, recorder and
# wrk output to DIR/*.log. Journals, pcaps, nginx's configuration and certificate go to a temporary
# directory that is deleted at exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
TLSREC=${TLSREC:-$here/../build/recorder/tlsrec}
rounds=5
secs=5
workloads="keepalive close"
conns=16
starts=9
out=""
stats=""
while getopts "r:t:c:s:w:o:S" c; do
	case $c in
	r) rounds=$OPTARG ;;
	t) secs=$OPTARG ;;
	c) conns=$OPTARG ;;
	s) starts=$OPTARG ;;
	w) workloads=$OPTARG ;;
	o) out=$OPTARG; mkdir -p "$out" ;;
	S) stats=1 ;;
	*) exit 2 ;;
	esac
done
[ -n "$out" ] || out=$(mktemp -d /tmp/tlsrec-bench.XXXXXX)
need_root_and nginx wrk tcpdump openssl python3 ss "$TLSREC" ${stats:+bpftool}
bench_netns
work=$(mktemp -d /tmp/tlsrec-bench-work.XXXXXX)
nginx_pid=""
bpf_stats_was=""

cleanup() {
	# nginx's workers outlive a master killed with SIGKILL: stop it with SIGTERM, as nginx -s stop.
	if [ -n "$nginx_pid" ] && kill -TERM "$nginx_pid" 2>/dev/null; then
		for _ in $(seq 50); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
	fi
	bench_cleanup
	rm -rf "$work"
	[ -z "$bpf_stats_was" ] || sysctl -qw kernel.bpf_stats_enabled="$bpf_stats_was"
}
trap cleanup EXIT
if [ -n "$stats" ]; then
	bpf_stats_was=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=1
fi

forget() { # PID: a process that has exited, no longer to be killed at exit
	local p keep=()
	for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	pids=("${keep[@]}")
}

# tlsrec processes this script did not start (nor their children). Their uprobes on libssl fire in
# nginx and wrk too, whatever their scope: a run is repeated if one ran during it.
foreign_tlsrec() {
	local p
	for p in $(pgrep -x tlsrec || true); do
		[ -n "${rec:-}" ] && { [ "$p" = "$rec" ] || [ "$(ps -o ppid= -p "$p" | tr -d ' ')" = "$rec" ]; } &&
			continue
		echo "$p"
	done
}

quiet() { # wait up to 120 s until no foreign tlsrec has run for 1 s
	local n=0 calm=0
	while [ $calm -lt 10 ] && [ $n -lt 1200 ]; do
		if [ -n "$(foreign_tlsrec)" ]; then calm=0; else calm=$((calm + 1)); fi
		n=$((n + 1))
		sleep 0.1
	done
}

# nginx: one worker, TLS 1.3 only, a self-signed P-256 certificate, no session cache (session
# tickets stay on, nginx's default: wrk resumes with them), no access log, keepalive_requests left
# at its default (1000: with keep-alive, wrk reconnects after 1000 requests).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 \
	-subj /CN=localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
cat >"$work/nginx.conf" <<EOF
master_process on;
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $work/body;
	server {
		listen 127.0.0.1:8443 ssl;
		ssl_certificate $work/cert.pem;
		ssl_certificate_key $work/key.pem;
		ssl_protocols TLSv1.3;
		ssl_session_cache off;
		location / { return 200 "ok\n"; }
	}
}
EOF
ip netns exec "$ns" nginx -p "$work" -c "$work/nginx.conf" -e "$work/error.log" &
nginx_pid=$!
pids+=("$nginx_pid")
until [ -n "$(ip netns exec "$ns" ss -Hltn 'sport = :8443')" ]; do
	kill -0 "$nginx_pid" || { cat "$work/error.log" >&2; exit 1; }
	sleep 0.05
done
until worker=$(pgrep -P "$nginx_pid"); do sleep 0.05; done # nginx's one worker process

wrk_https() { # WORKLOAD SECONDS: wrk's report on stdout
	local hdr=()
	[ "$1" = close ] && hdr=(-H "Connection: close")
	ip netns exec "$ns" wrk -t1 -c"$conns" -d"$2s" "${hdr[@]}" https://127.0.0.1:8443/
}

# bpf_cost PID: name,run_cnt,run_time_ns of each BPF program that process holds a descriptor of
bpf_cost() {
	local ids
	ids=$(awk '/^prog_id:/ { print $2 }' /proc/"$1"/fdinfo/* 2>/dev/null | sort -u | tr '\n' ' ')
	bpftool -j prog show | python3 -c '
import json, sys
ids = set(sys.argv[1].split())
for p in json.load(sys.stdin):
    if str(p["id"]) in ids:
        print("%s,%d,%d" % (p.get("name", "?"), p.get("run_cnt", 0), p.get("run_time_ns", 0)))' "$ids"
}

# measure WORKLOAD RECORDER ROUND: one measurement into the variable line; foreign=1 if another
# tlsrec ran meanwhile
measure() {
	local workload=$1 recorder=$2 round=$3 log file="" rec="" t0=0 cpu="" secrets="" packets=""
	local lost="" bytes="" rps errors sampler w0 TIMEFORMAT='%U %S'
	log=$out/$workload-$recorder-$round.log
	quiet
	case $recorder in
	secrets)
		file=$work/j.lz4
		ip netns exec "$ns" "$TLSREC" -v --secrets-only -w "$file" 2>"$log" &
		rec=$! ;;
	packets)
		file=$work/j.lz4
		ip netns exec "$ns" "$TLSREC" -v --no-secrets -i lo -w "$file" 2>"$log" &
		rec=$! ;;
	packets+secrets)
		file=$work/j.lz4
		ip netns exec "$ns" "$TLSREC" -v -i lo -w "$file" 2>"$log" &
		rec=$! ;;
	tcpdump)
		file=$work/j.pcap
		ip netns exec "$ns" tcpdump -i lo -s 0 -w "$file" 2>"$log" &
		rec=$! ;;
	none) ;;
	esac
	if [ -n "$rec" ]; then
		pids+=("$rec")
		until grep -qsE "ready in|listening on" "$log"; do
			kill -0 "$rec" 2>/dev/null || { cat "$log" >&2; exit 1; }
			sleep 0.02
		done
		t0=$(cpu_ns "$rec")
	fi
	rm -f "$work/foreign"
	(while :; do [ -z "$(foreign_tlsrec)" ] || touch "$work/foreign"; sleep 0.1; done) &
	sampler=$!
	pids+=("$sampler")
	w0=$(cpu_ns "$worker")
	{ time wrk_https "$workload" "$secs" >"$out/$workload-$recorder-$round.wrk"; } \
		2>"$out/$workload-$recorder-$round.time"
	w0=$(($(cpu_ns "$worker") - w0))
	[ -n "$stats" ] && [ -n "$rec" ] && [ "$recorder" != tcpdump ] &&
		bpf_cost "$rec" >"$out/bpf-$workload-$recorder-$round.csv"
	kill "$sampler"
	wait "$sampler" 2>/dev/null || true
	forget "$sampler"
	foreign=0
	[ -e "$work/foreign" ] && foreign=1
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out/$workload-$recorder-$round.wrk")
	errors=$(awk '/Socket errors:/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 }
		/Non-2xx/ { e += $NF } END { print e + 0 }' "$out/$workload-$recorder-$round.wrk")
	if [ -n "$rec" ]; then
		# tcpdump hands over a TPACKET_V3 block when it is full or after 1 s; tlsrec writes at
		# least every second (its flush interval): count the CPU they spend on the load's records.
		sleep 1.5
		cpu=$(($(cpu_ns "$rec") - t0))
		kill -INT "$rec"
		wait "$rec" || true
		forget "$rec"
		bytes=$(stat -c %s "$file")
		case $recorder in
		tcpdump)
			packets=$(awk '/packets captured/ { print $1 }' "$log")
			lost=$(awk '/dropped by kernel/ { print $1 }' "$log") ;;
		*)
			secrets=$(awk '/TLS secrets recorded/ { print $1 }' "$log")
			packets=$(awk '/packets recorded/ { print $1 }' "$log")
			lost=$(awk '/packets lost/ { print $1 }' "$log") ;;
		esac
		rm -f "$file"
	fi
	line="$workload,$recorder,$round,$rps,$errors,$cpu,$secrets,$packets,$lost,$bytes"
	line+=",$(awk '/requests in/ { print $1 }' "$out/$workload-$recorder-$round.wrk"),$w0"
	line+=",$(awk '{ print $1 + $2 }' "$out/$workload-$recorder-$round.time")"
}

# run WORKLOAD RECORDER ROUND: a measurement, appended to runs.csv; repeated (up to 3 times in all)
# while another tlsrec ran during it
run() {
	local try line foreign
	for try in 1 2 3; do
		measure "$@"
		[ "$foreign" = 0 ] && break
		echo >&2 "bench: another tlsrec ran during $1 $2 round $3 (try $try)"
	done
	echo "$line,$try,$foreign" >>"$out/runs.csv"
	echo >&2 "bench: $1 $2 round $3: $(echo "$line" | cut -d, -f4) requests/s"
}

echo "workload,recorder,round,rps,errors,cpu_ns,secrets,packets,lost,output_bytes,requests,nginx_ns,wrk_cpu_s,tries,foreign" \
	>"$out/runs.csv"
for workload in $workloads; do
	wrk_https "$workload" 2 >/dev/null # warm-up, not counted
	for ((round = 1; round <= rounds; round++)); do
		for recorder in none secrets packets packets+secrets tcpdump; do
			run "$workload" "$recorder" "$round"
		done
	done
done

# Start-up: tlsrec -v --secrets-only, with nginx running, until "ready in N ms"; then SIGINT and
# the time until it has exited.
echo "start,ready_ms,exit_ms" >"$out/startup.csv"
for ((i = 1; i <= starts; i++)); do
	log=$out/startup-$i.log
	"$TLSREC" -v --secrets-only -w "$work/s.lz4" 2>"$log" &
	rec=$!
	pids+=("$rec")
	until grep -qs "ready in" "$log"; do
		kill -0 "$rec" 2>/dev/null || { cat "$log" >&2; exit 1; }
		sleep 0.01
	done
	sleep 0.5
	t=$(date +%s%N)
	kill -INT "$rec"
	wait "$rec" || true
	forget "$rec"
	echo "$i,$(sed -n 's/.*ready in \([0-9]*\) ms.*/\1/p' "$log"),$((($(date +%s%N) - t) / 1000000))" \
		>>"$out/startup.csv"
	rm -f "$work/s.lz4"
done

kill -TERM "$nginx_pid"
wait "$nginx_pid" || true
forget "$nginx_pid"
nginx_pid=""

python3 - "$out/runs.csv" "$out/startup.csv" "$out" <<'EOF'
import csv, os, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
med = statistics.median
names = {"keepalive": "keep-alive", "close": "Connection: close"}
print("| workload | recorder | requests/s (median, min-max) | vs none | vs none, per round: median (min-max) | nginx+wrk CPU µs / request | recorder CPU µs / request | secrets recorded | packets recorded | lost | output MB |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for w in dict.fromkeys(r["workload"] for r in rows):
    ws = [r for r in rows if r["workload"] == w]
    base = {r["round"]: float(r["rps"]) for r in ws if r["recorder"] == "none"}
    m0 = med(base.values())
    for rec in dict.fromkeys(r["recorder"] for r in ws):
        rs = [r for r in ws if r["recorder"] == rec]
        rps = sorted(float(r["rps"]) for r in rs)
        per = sorted(float(r["rps"]) / base[r["round"]] for r in rs)
        us = med((float(r["nginx_ns"]) / 1e9 + float(r["wrk_cpu_s"])) / float(r["requests"]) * 1e6
                 for r in rs)
        none = rec == "none"
        f = lambda k, fmt="%d": "-" if none or rs[0][k] == "" else fmt % med(float(r[k]) for r in rs)
        print("| %s | %s | %.0f (%.0f-%.0f) | %s | %s | %.1f | %s | %s | %s | %s | %s |" % (
            names.get(w, w), rec, med(rps), rps[0], rps[-1],
            "-" if none else "%.1f%%" % (100 * med(rps) / m0),
            "-" if none else "%.1f%% (%.1f-%.1f%%)" % (100 * med(per), 100 * per[0], 100 * per[-1]), us,
            "-" if none else "%.2f" % med(float(r["cpu_ns"]) / float(r["requests"]) / 1e3 for r in rs),
            f("secrets"), f("packets"), f("lost"),
            "-" if none else "%.1f" % (med(float(r["output_bytes"]) for r in rs) / 1e6)))
errors = sum(int(r["errors"]) for r in rows)
rep = sum(int(r["tries"]) - 1 for r in rows)
bad = sum(r["foreign"] == "1" for r in rows)
print()
print("%d runs; %d repeated because another tlsrec ran during them, %d kept although one did; "
      "%d wrk errors." % (len(rows), rep, bad, errors))
s = list(csv.DictReader(open(sys.argv[2])))
ready = sorted(int(r["ready_ms"]) for r in s)
ex = sorted(int(r["exit_ms"]) for r in s)
print()
print("| tlsrec -v --secrets-only | median ms | min-max ms | runs |")
print("|---|---:|---:|---:|")
print("| start (\"ready in N ms\") | %d | %d-%d | %d |" % (med(ready), ready[0], ready[-1], len(s)))
print("| exit after SIGINT | %d | %d-%d | %d |" % (med(ex), ex[0], ex[-1], len(s)))
cost = {}
for r in rows:
    f = os.path.join(sys.argv[3], "bpf-%s-%s-%s.csv" % (r["workload"], r["recorder"], r["round"]))
    if r["recorder"] in ("none", "tcpdump") or not os.path.exists(f):
        continue
    for name, cnt, ns in csv.reader(open(f)):
        if int(cnt):
            cost.setdefault((r["workload"], r["recorder"], name), []).append(
                (int(cnt) / float(r["requests"]), int(ns) / int(cnt), int(ns) / float(r["requests"])))
if cost:
    print()
    print("| workload | recorder | BPF program | runs / request | ns / run | µs / request | rounds |")
    print("|---|---|---|---:|---:|---:|---:|")
    for (w, rec, name), v in cost.items():
        print("| %s | %s | %s | %.1f | %.0f | %.2f | %d |" % (names.get(w, w), rec, name,
              med(x[0] for x in v), med(x[1] for x in v), med(x[2] for x in v) / 1000, len(v)))
EOF
echo >&2 "bench: raw figures in $out/runs.csv and $out/startup.csv"
