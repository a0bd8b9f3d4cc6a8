#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# What recording a Go program's TLS secrets costs it: tests/go's gotls server (net/http over
# crypto/tls, TLS 1.3, no KeyLogWriter: the usual case) on lo in a private namespace, loaded by wrk
# (one thread, 16 connections) with keep-alive and with a new connection per request
# (-H 'Connection: close'; wrk resumes its session, a TLS 1.3 PSK handshake, for which crypto/tls
# derives and hands over the same four secrets). Each workload runs with:
#   none    no probe;
#   tlsrec  tlsrec --secrets-only -p SERVER: its uprobe on the jbe of writeKeyLog's stack check,
#           which the kernel emulates, and its BPF program (wrk's OpenSSL is not hooked);
#   entry   a tracefs uprobe event on writeKeyLog's first instruction (a lea, single-stepped), where
#           eCapture probes it, with no BPF program;
#   jbe     the same tracefs event on tlsrec's instruction: the trap alone, without tlsrec's program;
# alternating (none, tlsrec, entry, jbe, none, ...), and the table gives medians. The server's CPU
# (its threads' time on a CPU, /proc/PID/task/*/schedstat) is taken per request; hits per request
# are tlsrec's KEYLOG records (its "TLS secrets recorded") or the event's hits (uprobe_profile), and
# the cost of a hit is the server's CPU per request above no probe's, over the hits per request.
# Usage (as root, from the source tree, with tlsrec and tests/go built in build/):
#
#   bench/go_wrk.sh [-r ROUNDS] [-t SECONDS] [-o DIR]
#
# Prints a Markdown table; raw figures go to DIR/runs.csv, wrk's and tlsrec's output to DIR.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
TLSREC=${TLSREC:-$here/../build/recorder/tlsrec}
GOTLS=${GOTLS:-$here/../build/tests/go/gotls-static}
TRACING=/sys/kernel/tracing
rounds=5
secs=5
out=""
while getopts "r:t:o:" c; do
	case $c in
	r) rounds=$OPTARG ;;
	t) secs=$OPTARG ;;
	o) out=$OPTARG; mkdir -p "$out" ;;
	*) exit 2 ;;
	esac
done
[ -n "$out" ] || out=$(mktemp -d /tmp/tlsrec-bench.XXXXXX)
need_root_and wrk "$TLSREC" "$GOTLS"
[ -w "$TRACING/uprobe_events" ] || { echo "bench: no tracefs at $TRACING" >&2; exit 1; }
bench_netns
group=tlsrec_bench_$$
cleanup() {
	[ ! -d "$TRACING/events/$group" ] || {
		for e in "$TRACING/events/$group"/*/enable; do echo 0 >"$e"; done
		for e in entry jbe; do echo "-:$group/$e" >>"$TRACING/uprobe_events" 2>/dev/null || true; done
	}
	bench_cleanup
}
trap cleanup EXIT

ip netns exec "$ns" "$GOTLS" serve -addr 127.0.0.1:8443 2>"$out/server.log" &
server=$!
pids+=("$server")
until [ -n "$(ip netns exec "$ns" ss -Hltn 'sport = :8443')" ]; do sleep 0.05; done

# Where tlsrec hooks, and the function's entry: "hook at file offset 0x... (writeKeyLog+N, ...".
line=$("$TLSREC" --list-targets -p "$server" | grep -m1 "hook at file offset")
hook=$(sed -E 's/.*hook at file offset (0x[0-9a-f]+).*/\1/' <<<"$line")
skip=$(sed -E 's/.*writeKeyLog\+([0-9]+).*/\1/' <<<"$line")
entry=$(printf '0x%x' $((hook - skip)))
echo "p:$group/entry $GOTLS:$entry" >>"$TRACING/uprobe_events"
echo "p:$group/jbe $GOTLS:$hook" >>"$TRACING/uprobe_events"

wrk_https() { # WORKLOAD: wrk's report on stdout
	local hdr=()
	[ "$1" = close ] && hdr=(-H "Connection: close")
	ip netns exec "$ns" wrk -t1 -c16 -d"${secs}s" "${hdr[@]}" https://127.0.0.1:8443/
}

hits() { # EVENT: its hits so far (uprobe_profile: file, event without its group, hits)
	awk -v f="$GOTLS" -v e="$1" '$1 == f && $2 == e { print $3 }' "$TRACING/uprobe_profile"
}

# measure WORKLOAD PROBE ROUND: a line of runs.csv in the variable line
measure() {
	local workload=$1 probe=$2 round=$3 rec="" h0=0 hits_n=0 c0 cpu requests rps
	local log=$out/$workload-$probe-$round
	case $probe in
	tlsrec)
		"$TLSREC" -v --secrets-only -p "$server" -w "$out/j.lz4" 2>"$log.tlsrec" &
		rec=$!
		pids+=("$rec")
		until grep -qs "ready in" "$log.tlsrec"; do
			kill -0 "$rec" 2>/dev/null || { cat "$log.tlsrec" >&2; exit 1; }
			sleep 0.02
		done ;;
	entry | jbe)
		echo 1 >"$TRACING/events/$group/$probe/enable"
		h0=$(hits "$probe") ;;
	esac
	c0=$(cpu_ns "$server")
	wrk_https "$workload" >"$log.wrk"
	cpu=$(($(cpu_ns "$server") - c0))
	case $probe in
	tlsrec)
		kill -INT "$rec"
		wait "$rec" || true
		hits_n=$(awk '/TLS secrets recorded/ { print $1 }' "$log.tlsrec") ;;
	entry | jbe)
		hits_n=$(($(hits "$probe") - h0))
		echo 0 >"$TRACING/events/$group/$probe/enable" ;;
	esac
	requests=$(awk '/requests in/ { print $1 }' "$log.wrk")
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$log.wrk")
	line="$workload,$probe,$round,$rps,$requests,$cpu,${hits_n:-0}"
}

echo "workload,probe,round,rps,requests,server_cpu_ns,hits" >"$out/runs.csv"
for round in $(seq "$rounds"); do
	for workload in keepalive close; do
		for probe in none tlsrec entry jbe; do
			measure "$workload" "$probe" "$round"
			echo "$line" >>"$out/runs.csv"
		done
	done
done

python3 - "$out/runs.csv" <<'EOF'
import csv, statistics, sys
runs = list(csv.DictReader(open(sys.argv[1])))
def med(w, p, f):
    return statistics.median(f(r) for r in runs if r["workload"] == w and r["probe"] == p)
print("| workload | probe | req/s | of none | server CPU µs/req | hits/req | µs CPU per hit |")
print("|---|---|---:|---:|---:|---:|---:|")
for w in ("keepalive", "close"):
    base_rps = med(w, "none", lambda r: float(r["rps"]))
    base_cpu = med(w, "none", lambda r: int(r["server_cpu_ns"]) / int(r["requests"]) / 1000)
    for p in ("none", "tlsrec", "entry", "jbe"):
        rps = med(w, p, lambda r: float(r["rps"]))
        cpu = med(w, p, lambda r: int(r["server_cpu_ns"]) / int(r["requests"]) / 1000)
        hits = med(w, p, lambda r: int(r["hits"]) / int(r["requests"]))
        per_hit = "%.1f" % ((cpu - base_cpu) / hits) if hits > 0.01 else "-"
        print("| %s | %s | %.0f | %.3f | %.1f | %.2f | %s |" % (w, p, rps, rps / base_rps, cpu, hits, per_hit))
EOF
echo "raw figures: $out/runs.csv" >&2
