#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# TLS secrets from openssl s_server and s_client: -www (BIO_f_ssl, handshakes driven by reads)
# and plain (SSL_accept), TLS 1.2 and 1.3, the AES-128-GCM, AES-256-GCM (SHA-384) and ChaCha20
# suites, session resumption, SSL_clear (-reconnect) and KeyUpdate (every generation). The
# clients' -keylogfile is the truth: tlsasm --keylog must hold exactly its lines (OpenSSL logs
# each key update too), and tshark must decrypt every request and response from the pcapng alone.
#
# tlsrec hooks where each handshake step ends (one uprobe), which calibration finds through the
# library's unwind table. With LIBSSL_NO_UNWIND=1 every openssl here loads a copy of libssl that
# hides its unwind table, as a build without one (tests/tools/no_unwind_copy.py): tlsrec must then
# hook that copy's state machine at entry and return instead, and every check must hold the same.
. "$(dirname "$0")/lib.sh"
e2e_init
need openssl tshark python3

make_netns ossl
ns=$NETNS
d=$E2E_DIR
make_cert "$d"
make_cgroup
truth=$d/truth.txt
libssl=$(realpath "$(ldd "$(command -v openssl)" | awk '$1 ~ /^libssl\.so/ { print $3 }')")
[ -f "$libssl" ] || fail "cannot find the libssl that openssl loads"
hook="one uprobe where each handshake step ends"
if [ -n "${LIBSSL_NO_UNWIND:-}" ]; then
	chmod 711 "$d" # calibration loads the copy as nobody
	mkdir -m 755 "$d/lib"
	python3 "$(dirname "$0")/../tools/no_unwind_copy.py" "$libssl" "$d/lib/${libssl##*/}" ||
		fail "cannot make a libssl without its unwind table"
	libssl=$d/lib/${libssl##*/}
	export LD_LIBRARY_PATH=$d/lib
	hook="a uprobe and a uretprobe on the handshake state machine, not where a step ends: no unwind table entry"
fi

start_cg "$ns" "$d/www.log" openssl s_server -accept 4433 -cert "$d/cert.pem" -key "$d/key.pem" -www -quiet
wait_port "$ns" 4433
# The plain server takes what it sends from its standard input: a FIFO the test holds open.
mkfifo "$d/plain.in"
exec 7<>"$d/plain.in"
start_cg "$ns" "$d/plain.log" bash -c 'exec openssl s_server -accept 4434 -cert "$0" -key "$1" <"$2"' \
	"$d/cert.pem" "$d/key.pem" "$d/plain.in"
wait_port "$ns" 4434
grep -q "$libssl" "/proc/$STARTED/maps" || fail "the server did not load $libssl"
record_tls "$ns" -v
grep -qF "hooked $libssl (" "$d/tlsrec.log" || fail "tlsrec did not hook $libssl: $(cat "$d/tlsrec.log")"
grep "hooked $libssl (" "$d/tlsrec.log" | grep -qF "): $hook" ||
	fail "tlsrec did not hook $libssl with $hook: $(grep hooked "$d/tlsrec.log")"

# www NAME S_CLIENT_OPTIONS...: GET /NAME from the -www server; the status page must come back.
www() {
	local name=$1
	shift
	printf 'GET /%s HTTP/1.0\r\n\r\n' "$name" |
		in_cg "$ns" timeout 10 openssl s_client -connect 127.0.0.1:4433 -keylogfile "$truth" \
			-ign_eof "$@" >"$d/$name.out" 2>&1 || fail "s_client $name failed: $(tail -3 "$d/$name.out")"
	grep -q "^HTTP/1.0 200 ok" "$d/$name.out" || fail "s_client $name got no response"
	echo "/$name" >>"$d/uris"
}

www tls13-aes128 -tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256
www tls13-aes256 -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384
www tls13-chacha20 -tls1_3 -ciphersuites TLS_CHACHA20_POLY1305_SHA256
www tls12-aes128 -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256
www tls12-aes256 -tls1_2 -cipher ECDHE-ECDSA-AES256-GCM-SHA384
www tls12-chacha20 -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305

# Resumption: a full handshake that saves the session, then one that resumes it.
for v in 1_2 1_3; do
	www "tls${v/_/}-full" -tls$v -sess_out "$d/sess$v"
	www "tls${v/_/}-resumed" -tls$v -sess_in "$d/sess$v"
	grep -q "^Reused, TLSv1.${v#1_}" "$d/tls${v/_/}-resumed.out" || fail "TLS ${v/_/.} session not resumed"
done

# -reconnect: five more handshakes on the same SSL object, each after SSL_clear.
for v in 1_2 1_3; do
	www "tls${v/_/}-reconnect" -tls$v -reconnect
	[ "$(grep -c "^drop connection and then reconnect" "$d/tls${v/_/}-reconnect.out")" = 5 ] ||
		fail "s_client -reconnect did not reconnect 5 times"
done

# lines_in FILE PATTERN N: until FILE has N lines matching PATTERN, 60 s at most (the caller
# checks what came).
lines_in() {
	local i n
	for ((i = 0; i < 1200; i++)); do
		n=$(grep -c -- "$2" "$1" 2>/dev/null) || true
		[ "${n:-0}" -ge "$3" ] && return 0
		sleep 0.05
	done
}

# KeyUpdate from the client (s_client's k and K commands): two that the server need not answer
# (client keys reach generation 2), and one that it must answer with its own (generation 1 each).
# Each command goes once s_client has done the one before (two in one read would be sent as
# data), and its input ends once the response has come: however slow the machine (qemu).
# keyupdate NAME SUITE COMMANDS...
keyupdate() {
	local name=$1 suite=$2 n=0
	shift 2
	(
		for c in "$@"; do
			printf '%s\n' "$c"
			n=$((n + 1))
			lines_in "$d/$name.out" "^KEYUPDATE" $n
		done
		printf 'GET /%s HTTP/1.0\r\n\r\n' "$name"
		lines_in "$d/$name.out" "^HTTP/1.0 200 ok" 1
	) | in_cg "$ns" timeout 120 openssl s_client -connect 127.0.0.1:4433 -keylogfile "$d/$name.txt" \
		-tls1_3 -ciphersuites "$suite" >"$d/$name.out" 2>&1 || true
	grep -q "^HTTP/1.0 200 ok" "$d/$name.out" ||
		fail "no response after KeyUpdate: $(tail -3 "$d/$name.out")"
	[ "$(grep -c "^KEYUPDATE" "$d/$name.out")" = $# ] || fail "s_client did not send $# KeyUpdates"
	echo "/$name" >>"$d/uris"
}
keyupdate keyupdate-k TLS_AES_256_GCM_SHA384 k k
keyupdate keyupdate-K TLS_CHACHA20_POLY1305_SHA256 K

# The plain server: the client's request shows in the server's output; the response goes in on
# its standard input; q closes the connection.
plain() {
	local name=$1
	shift
	printf 'GET /%s HTTP/1.0\r\n\r\n' "$name" |
		in_cg "$ns" timeout 10 openssl s_client -connect 127.0.0.1:4434 -keylogfile "$truth" \
			-ign_eof "$@" >"$d/$name.out" 2>&1 &
	local client=$!
	wait_for "$d/plain.log" "GET /$name"
	printf 'HTTP/1.0 200 OK\r\n\r\nplain\r\n' >&7
	wait_for "$d/$name.out" "^plain"
	sleep 0.2
	printf 'q\n' >&7
	wait "$client" || true # s_client exits with 1 when the server closes, whatever the manner
	echo "/$name" >>"$d/uris"
}
plain plain-tls13 -tls1_3
plain plain-tls12 -tls1_2
sleep 0.5

stop "$REC" || fail "tlsrec exited with status $?"
grep -q "^0 packets lost" "$d/tlsrec.log" || fail "tlsrec lost packets: $(cat "$d/tlsrec.log")"
grep -q "TLS secrets recorded" "$d/tlsrec.log" || fail "tlsrec did not count TLS secrets"
grep -q "TLS secrets lost" "$d/tlsrec.log" && fail "tlsrec lost TLS secrets"

assemble_tls
[ "$(stat -c %a "$d/got.txt")" = 600 ] || fail "the key log's mode is not 0600"

# The truth: the clients' key logs (with OpenSSL's lines for every key update).
cat "$d/keyupdate-k.txt" "$d/keyupdate-K.txt" >>"$truth"
same_keylog "$truth" "$d/got.txt"

# tshark decrypts every request and every response with what the pcapng holds.
requests_decrypted "$d/uris"
# The KeyUpdates themselves, decrypted: 2 + 1 from the clients, 1 from the server.
[ "$(tshark -r "$d/out.pcapng" -Y "tls.handshake.type == 24" 2>/dev/null | wc -l)" = 4 ] ||
	fail "tshark does not show the 4 KeyUpdate messages"
note "ok: $(keylog_lines "$truth" | wc -l) key log lines as the truth, $REQUESTS requests decrypted"
