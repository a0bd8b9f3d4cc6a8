#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# A TLS server's handshake rate with and without tlsrec recording its secrets, per library kind:
#   gnutls  gnutls-serv --http (GnuTLS 3.7, tlsrec's hook on its default key log function);
#   node16  node 16's https server (OpenSSL 1.1.1v linked in, hooked through --libssl).
# In a private network namespace, `openssl s_time -new` (a new TLS 1.3 handshake per connection,
# an HTTP GET on each; its OpenSSL is not hooked: tlsrec --secrets-only -p SERVER) loads the server
# for SECONDS, alternating none and tlsrec, ROUNDS times; the table gives medians and the range of
# each round's rate over the same round's rate without tlsrec. Hits per handshake are tlsrec's
# records ("TLS secrets recorded") over s_time's connections.
# Usage (as root, from the source tree, with tlsrec built in build/ and .ci/deps run):
#
#   bench/tls_server_rate.sh [-r ROUNDS] [-t SECONDS] [-o DIR] gnutls|node16
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
TLSREC=${TLSREC:-$here/../build/recorder/tlsrec}
NODE=${NODE:-/opt/tlsrec-node/node_modules/node-16/bin/node}
reps=5
secs=5
out=""
kind=${*: -1}
bench_options "${@:1:$#-1}"
[ -n "$out" ] || out=$(mktemp -d /tmp/tlsrec-bench.XXXXXX)
need_root_and openssl "$TLSREC"
bench_netns

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
	-days 1 -keyout "$out/key.pem" -out "$out/cert.pem" 2>/dev/null
libssl=()
case $kind in
gnutls)
	need_root_and gnutls-serv
	ip netns exec "$ns" gnutls-serv --http --x509certfile "$out/cert.pem" \
		--x509keyfile "$out/key.pem" -p 8443 >"$out/server.log" 2>&1 &
	;;
node16)
	[ -x "$NODE" ] || { echo "bench: no $NODE (bash .ci/deps)" >&2; exit 1; }
	libssl=(--libssl "$NODE")
	ip netns exec "$ns" "$NODE" "$here/../tests/e2e/node_https.js" serve 8443 "$out/key.pem" \
		"$out/cert.pem" >"$out/server.log" 2>&1 &
	;;
*) echo "bench: unknown kind $kind" >&2; exit 2 ;;
esac
server=$!
pids+=("$server")
until [ -n "$(ip netns exec "$ns" ss -Hltn 'sport = :8443')" ]; do sleep 0.05; done

measure() { # PROBE ROUND: a line of runs.csv in the variable line
	local probe=$1 round=$2 rec="" hits=0 conns log=$out/$1-$2
	if [ "$probe" = tlsrec ]; then
		"$TLSREC" -v --secrets-only -p "$server" "${libssl[@]}" -w "$out/j.lz4" \
			2>"$log.tlsrec" &
		rec=$!
		pids+=("$rec")
		until grep -qs "ready in" "$log.tlsrec"; do
			kill -0 "$rec" 2>/dev/null || { cat "$log.tlsrec" >&2; exit 1; }
			sleep 0.02
		done
		grep -q "hooked" "$log.tlsrec" || { cat "$log.tlsrec" >&2; exit 1; }
	fi
	ip netns exec "$ns" openssl s_time -connect 127.0.0.1:8443 -new -time "$secs" -www / \
		>"$log.stime" 2>&1
	if [ -n "$rec" ]; then
		kill -INT "$rec"
		wait "$rec" || true
		hits=$(awk '/TLS secrets recorded/ { print $1 }' "$log.tlsrec")
	fi
	conns=$(awk '/connections in [0-9]+ real seconds/ { print $1; exit }' "$log.stime")
	[ -n "$conns" ] || { cat "$log.stime" >&2; exit 1; }
	line="$probe,$round,$conns,${hits:-0}"
}

echo "probe,round,connections,hits" >"$out/runs.csv"
for round in $(seq "$reps"); do
	for probe in none tlsrec; do
		measure "$probe" "$round"
		echo "$line" >>"$out/runs.csv"
	done
done

python3 - "$out/runs.csv" "$secs" "$kind" <<'EOF'
import csv, statistics, sys
runs, secs, kind = list(csv.DictReader(open(sys.argv[1]))), float(sys.argv[2]), sys.argv[3]
rate = {(r["probe"], r["round"]): int(r["connections"]) / secs for r in runs}
rounds = sorted({r["round"] for r in runs})
none = statistics.median(rate[("none", k)] for k in rounds)
rec = statistics.median(rate[("tlsrec", k)] for k in rounds)
ratios = sorted(rate[("tlsrec", k)] / rate[("none", k)] for k in rounds)
hits = statistics.median(int(r["hits"]) / int(r["connections"]) for r in runs if r["probe"] == "tlsrec")
print("| server | handshakes/s, none | with tlsrec | of none (per round) | hits per handshake |")
print("|---|---:|---:|---:|---:|")
print("| %s | %.0f | %.0f | %.3f (%.3f to %.3f) | %.2f |" % (kind, none, rec, rec / none, ratios[0], ratios[-1], hits))
EOF
echo "raw figures: $out/runs.csv" >&2
