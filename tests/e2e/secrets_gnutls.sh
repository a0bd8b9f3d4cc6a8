#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# TLS secrets from GnuTLS (recorder/calib_gnutls.c): gnutls-serv and gnutls-cli, both in the
# recorded cgroup, TLS 1.3 with its three suites, TLS 1.2, and resumption of both; the truth is
# each side's SSLKEYLOGFILE. A client without SSLKEYLOGFILE still has its secrets recorded (its
# server's key log is the truth). wget (Debian's uses GnuTLS) against openssl s_server, with -p on
# wget alone: its own records hold s_server's key log. tlsasm --keylog holds exactly the truth, and
# tshark decrypts every request from tlsasm's pcapng alone. GnuTLS logs nothing for a resumed TLS
# 1.2 handshake: tlsasm derives its line from the session (the first connection's master secret
# with the second's client random, from its ClientHello, is its truth).
. "$(dirname "$0")/lib.sh"
e2e_init
need tshark gnutls-serv gnutls-cli wget openssl
[ -x "${JRECORDS:-}" ] || fail "JRECORDS is not set to tests/tools' jrecords"
lib=$(readlink -f /usr/lib/x86_64-linux-gnu/libgnutls.so.30)
[ -f "$lib" ] || fail "no libgnutls.so.30 (libgnutls30)"

make_netns gnutls
ns=$NETNS
d=$E2E_DIR
make_cgroup
make_cert "$d"

"$TLSREC" --list-targets -p $$ --libssl "$lib" >"$d/list.txt" 2>&1 ||
	fail "tlsrec --list-targets --libssl $lib failed: $(cat "$d/list.txt")"
grep -qE "^    GnuTLS 3\.[0-9.]+; hook at file offset 0x[0-9a-f]+ \(the jump of its default keylog function" \
	"$d/list.txt" || fail "--list-targets does not show GnuTLS and its hook: $(cat "$d/list.txt")"

start_cg "$ns" "$d/server.log" env SSLKEYLOGFILE="$d/server.keys" gnutls-serv --http \
	--x509certfile "$d/cert.pem" --x509keyfile "$d/key.pem" -p 8443
server=$STARTED
wait_port "$ns" 8443
record_tls "$ns" -v
wait_for "$d/tlsrec.log" "hooked $lib (GnuTLS 3"

# cli NAME PRIORITY [GNUTLS-CLI OPTIONS...]: GET /NAME with gnutls-cli, its key log in NAME.keys
# (none with NOKEYLOG=1), its pid in NAME.pid.
cli() {
	local name=$1 prio=$2 kl=SSLKEYLOGFILE=$d/$1.keys
	shift 2
	[ "${NOKEYLOG:-}" = 1 ] && kl=NOKEYLOG=1
	printf 'GET /%s HTTP/1.0\r\n\r\n' "$name" |
		in_cg "$ns" env "$kl" timeout 20 bash -c 'echo $$ >"$0"; exec "$@"' "$d/$name.pid" \
			gnutls-cli --insecure --priority "$prio" -p 8443 127.0.0.1 "$@" \
			>"$d/$name.out" 2>&1 || fail "gnutls-cli $name failed: $(cat "$d/$name.out")"
}
v13=NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL
cli tls13-aes128 "$v13:+AES-128-GCM"
cli tls13-aes256 "$v13:+AES-256-GCM"
cli tls13-chacha20 "$v13:+CHACHA20-POLY1305"
cli tls12 NORMAL:-VERS-ALL:+VERS-TLS1.2
cli tls13-resume "$v13:+AES-128-GCM" --resume
cli tls12-resume NORMAL:-VERS-ALL:+VERS-TLS1.2 --resume
NOKEYLOG=1 cli nokeylog "$v13:+AES-128-GCM"
grep -q "This is a resumed session" "$d/tls12-resume.out" || fail "TLS 1.2 was not resumed"
grep -q "This is a resumed session" "$d/tls13-resume.out" || fail "TLS 1.3 was not resumed"
sleep 0.5
stop "$REC" || fail "tlsrec exited with status $?"
grep -q "TLS secrets lost" "$d/tlsrec.log" && fail "tlsrec lost TLS secrets"
assemble_tls

# The resumed TLS 1.2 connection's line: the session's master secret, its own client random.
stream=$(tshark -r "$d/out.pcapng" -Y 'http.request.uri == "/tls12-resume"' -T fields \
	-e tcp.stream 2>/dev/null | head -1)
[ -n "$stream" ] || fail "tshark does not decrypt the resumed TLS 1.2 request"
cr=$(tshark -r "$d/out.pcapng" -Y "tcp.stream == $stream && tls.handshake.type == 1" -T fields \
	-e tls.handshake.random 2>/dev/null | head -1 | tr -d :)
ms=$(awk '$1 == "CLIENT_RANDOM" { print $3 }' "$d/tls12-resume.keys")
[ "$(wc -l <<<"$ms")" = 1 ] && [ "${#cr}" = 64 ] ||
	fail "not one master secret in tls12-resume.keys, or no client random: [$ms] [$cr]"
cat "$d/server.keys" "$d"/tls1*.keys >"$d/truth.txt"
echo "CLIENT_RANDOM $cr $ms" >>"$d/truth.txt"
# tlsasm writes no line for the early secrets (its labels are assemble/keylog.h's); the records
# hold them, as the comparisons of each client's own records below show.
grep -Ev '^(CLIENT_EARLY_TRAFFIC_SECRET|EARLY_EXPORTER_SECRET) ' "$d/truth.txt" >"$d/truth.asm"
same_keylog "$d/truth.asm" "$d/got.txt"

# Each client's own KEYLOG records hold its key log; the one without, its server's lines.
"$JRECORDS" "$d/journal.lz4" >"$d/records.txt" || fail "jrecords failed"
own() {
	awk -v p="pid=$(cat "$d/$1.pid")" '$1 == "KEYLOG" && $2 == p { print $5, $6, $7 }' \
		"$d/records.txt" >"$d/$1.own"
}
for name in tls13-aes128 tls13-aes256 tls13-chacha20 tls12 tls13-resume tls12-resume; do
	own "$name"
	same_keylog "$d/$name.keys" "$d/$name.own"
done
own nokeylog
grep -F -f <(awk '{ print $2 }' "$d/nokeylog.own" | sort -u) "$d/server.keys" >"$d/nokeylog.truth"
[ "$(wc -l <"$d/nokeylog.truth")" -ge 5 ] || fail "the client without a key log has no records"
same_keylog "$d/nokeylog.truth" "$d/nokeylog.own"

http_seen "$d/out.pcapng" >"$d/http.txt"
for name in tls13-aes128 tls13-aes256 tls13-chacha20 tls12 tls13-resume tls12-resume nokeylog; do
	grep -qx "/$name" "$d/http.txt" || fail "tshark does not decrypt the request /$name"
done

# wget, scoped with -p: started first (retrying until the server listens), hooked through its
# mapping, then served by openssl s_server, whose key log is the truth.
ip netns exec "$ns" bash -c 'echo $$ >"$0"; exec "$@"' "$d/wget.pid" wget -q -O "$d/wget.body" \
	--no-check-certificate --retry-connrefused --waitretry=1 --tries=30 \
	https://127.0.0.1:4433/wget >"$d/wget.out" 2>&1 &
E2E_PIDS+=("$!")
wgetp=$!
wait_for "$d/wget.pid" .
for ((i = 0; i < 100; i++)); do
	grep -q libgnutls "/proc/$wgetp/maps" 2>/dev/null && break
	sleep 0.05
done
start "$ns" "$d/wrec.log" "$TLSREC" -v --secrets-only -p "$(cat "$d/wget.pid")" -w "$d/wget.lz4"
wrec=$STARTED
wait_for "$d/wrec.log" "hooked $lib (GnuTLS 3"
start "$ns" "$d/s_server.log" openssl s_server -www -accept 4433 -cert "$d/cert.pem" \
	-key "$d/key.pem" -keylogfile "$d/s_server.keys"
wait "$wgetp" || fail "wget failed: $(cat "$d/wget.out")"
grep -q "s_server" "$d/wget.body" || fail "wget got no s_server page"
sleep 0.5
stop "$wrec" || fail "tlsrec -p wget exited with status $?: $(cat "$d/wrec.log")"
"$TLSASM" "$d/wget.lz4" --keylog "$d/wget.got" 2>"$d/wget.asm" || fail "tlsasm: $(cat "$d/wget.asm")"
same_keylog "$d/s_server.keys" "$d/wget.got"
"$JRECORDS" "$d/wget.lz4" | grep '^KEYLOG' | grep -v "pid=$wgetp " && fail "records of others than wget"
note "ok: $(keylog_lines "$d/truth.txt" | wc -l) key log lines as the truth, wget's $(keylog_lines "$d/s_server.keys" | wc -l)"
