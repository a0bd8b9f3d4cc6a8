#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# How late tlsrec hooks a Go program it has never seen, and whether that program's first
# handshake is recorded when it makes it at once. tlsrec --secrets-only -u nobody -v records; a Go
# server (tests/go's gotls, root's, so out of scope) listens on lo in a private namespace; then,
# REPS times, a fresh copy of the gotls client (a new file: nothing hooked yet) is started as
# nobody and GETs one URL over TLS 1.3 at once, writing its own key log. Per copy: tlsrec's "N ms
# after a process mapped it" (from the mapping's own time to the hook in place) and whether
# tlsasm --keylog holds the four lines of the client's key log (the first handshake recorded).
# Usage (as root, from the source tree, with tlsrec, tlsasm and tests/go built):
#
#   bench/go_newprog.sh [-r REPS] [-o DIR]
#
# Prints a Markdown table; each copy's figures go to DIR/runs.csv.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
TLSREC=${TLSREC:-$here/../build/recorder/tlsrec}
TLSASM=${TLSASM:-$here/../build/assemble/tlsasm}
GOTLS=${GOTLS:-$here/../build/tests/go/gotls-static}
reps=20
out=""
bench_options "$@"
[ -n "$out" ] || out=$(mktemp -d /tmp/tlsrec-bench.XXXXXX)
chmod 755 "$out"
need_root_and setpriv "$TLSREC" "$TLSASM" "$GOTLS"
bench_netns

ip netns exec "$ns" "$GOTLS" serve -addr 127.0.0.1:8443 2>"$out/server.log" &
pids+=($!)
until [ -n "$(ip netns exec "$ns" ss -Hltn 'sport = :8443')" ]; do sleep 0.05; done
ip netns exec "$ns" "$TLSREC" --secrets-only -u nobody -v -w "$out/j.lz4" 2>"$out/tlsrec.log" &
rec=$!
pids+=("$rec")
until grep -qs "ready in" "$out/tlsrec.log"; do
	kill -0 "$rec" 2>/dev/null || { cat "$out/tlsrec.log" >&2; exit 1; }
	sleep 0.05
done
mkdir -p "$out/c"
chmod 777 "$out/c"
for i in $(seq "$reps"); do
	install -m 755 "$GOTLS" "$out/c/gotls$i"
	ip netns exec "$ns" setpriv --reuid nobody --regid nogroup --clear-groups \
		"$out/c/gotls$i" get -url https://127.0.0.1:8443/x -v 13 -keylog "$out/c/$i.keys" \
		>"$out/c/$i.out" 2>&1 || { cat "$out/c/$i.out" >&2; exit 1; }
	sleep 0.2
done
sleep 0.5
kill -INT "$rec"
wait "$rec" || true
"$TLSASM" "$out/j.lz4" --keylog "$out/all.keys" -o /dev/null 2>"$out/tlsasm.log"

echo "copy,late_ms,truth_lines,recorded_lines" >"$out/runs.csv"
for i in $(seq "$reps"); do
	late=$(grep -F "hooked $out/c/gotls$i (Go program" "$out/tlsrec.log" |
		sed -nE 's/.*; ([0-9.]+) ms after a process mapped it$/\1/p')
	echo "$i,${late:--},$(wc -l <"$out/c/$i.keys"),$(grep -cxFf "$out/c/$i.keys" "$out/all.keys" || true)"
done >>"$out/runs.csv"

python3 - "$out/runs.csv" <<'EOF'
import csv, statistics, sys
runs = list(csv.DictReader(open(sys.argv[1])))
late = sorted(float(r["late_ms"]) for r in runs if r["late_ms"] != "-")
whole = sum(1 for r in runs if r["recorded_lines"] == r["truth_lines"] != "0")
print("| copies | hooked | ms after the mapping: min | median | max | first handshake recorded |")
print("|---:|---:|---:|---:|---:|---:|")
print("| %d | %d | %.1f | %.1f | %.1f | %d of %d |" % (len(runs), len(late), late[0],
      statistics.median(late), late[-1], whole, len(runs)))
EOF
echo "raw figures: $out/runs.csv" >&2
