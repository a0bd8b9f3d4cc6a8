#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# TLS 1.2 session resumption: a resumed handshake whose secret was not recorded (as Go and GnuTLS
# log none) is decrypted with the master secret of the full handshake it resumes, tied to it by the
# ticket or the session ID the captured handshakes show. Client A, in the test's cgroup and so in
# tlsrec's scope, makes a full handshake and saves its session; client B, out of scope, resumes it.
# Twice: by ticket (RFC 5077), and by session ID with a server that sends no tickets. B's own key
# log is the truth for the line tlsasm derives; tshark decrypts B's request from tlsasm's output of
# B's connection alone, with no key file.
. "$(dirname "$0")/lib.sh"
e2e_init
need openssl tshark sqlite3

make_netns resume
ns=$NETNS
d=$E2E_DIR
make_cert "$d"
make_cgroup

start "$ns" "$d/tickets.log" openssl s_server -accept 4433 -cert "$d/cert.pem" -key "$d/key.pem" \
	-www -quiet -tls1_2
start "$ns" "$d/ids.log" openssl s_server -accept 4434 -cert "$d/cert.pem" -key "$d/key.pem" \
	-www -quiet -tls1_2 -no_ticket
wait_port "$ns" 4433
wait_port "$ns" 4434

# get NAME PORT IN_CGROUP OPENSSL-OPTION...: a request for /NAME on PORT with openssl s_client
# (TLS 1.2), in the test's cgroup when IN_CGROUP is yes; its key log in NAME.keys, and "New" or
# "Reused" in HANDSHAKE.
get() {
	local name=$1 port=$2 run=(ip netns exec "$ns")
	[ "$3" = yes ] && run=(in_cg "$ns")
	shift 3
	printf 'GET /%s HTTP/1.0\r\n\r\n' "$name" |
		"${run[@]}" timeout 20 openssl s_client -connect "127.0.0.1:$port" -tls1_2 -ign_eof \
			-keylogfile "$d/$name.keys" "$@" >"$d/$name.out" 2>&1 ||
		fail "s_client for /$name exited with status $?: $(cat "$d/$name.out")"
	HANDSHAKE=$(sed -n 's/^\(New\|Reused\), TLSv1\.2.*/\1/p' "$d/$name.out" | head -1)
}

# recorded JOURNAL NAME PORT IN_CGROUP HANDSHAKE OPENSSL-OPTION...: get's request, recorded by
# tlsrec into JOURNAL, and its handshake as expected.
recorded() {
	local journal=$1 name=$2 want=$5
	record_tls "$ns"
	get "$2" "$3" "$4" "${@:6}"
	[ "$HANDSHAKE" = "$want" ] || fail "$name: not a handshake \"$want\": $(cat "$d/$name.out")"
	sleep 0.3
	stop "$REC" || fail "$name: tlsrec exited with status $?: $(cat "$d/tlsrec.log")"
	mv "$d/journal.lz4" "$journal"
}

# check KIND PORT: A's full handshake in scope, recorded in one journal; B's resumption out of
# scope, in another.
check() {
	local kind=$1 port=$2 a=full-$1 b=resumed-$1 j cport
	recorded "$d/$kind-a.lz4" "$a" "$port" yes New -sess_out "$d/$kind.sess"
	recorded "$d/$kind-b.lz4" "$b" "$port" no Reused -sess_in "$d/$kind.sess"
	j=("$d/$kind-a.lz4" "$d/$kind-b.lz4")

	# The journals have A's secret only: B's must come from the session.
	"$TLSASM" -v "${j[@]}" -o "$d/$kind.pcapng" --keylog "$d/$kind.got" 2>"$d/$kind.asm" ||
		fail "$kind: tlsasm exited with status $?: $(cat "$d/$kind.asm")"
	grep -q "1 resumed TLS 1.2 connection given the master secret of the session it resumed" \
		"$d/$kind.asm" || fail "$kind: tlsasm did not resume B's session: $(cat "$d/$kind.asm")"
	cat "$d/$a.keys" "$d/$b.keys" >"$d/$kind.truth"
	same_keylog "$d/$kind.truth" "$d/$kind.got"
	http_seen "$d/$kind.pcapng" | grep -qx "/$b" ||
		fail "$kind: tshark does not decrypt the resumed request"

	# B's connection alone, through a capture filter and through the index: its DSB holds its
	# own line, derived. The index ties B to A's handshake, and counts B as having secrets.
	cport=$(tshark -r "$d/$kind.pcapng" -Y "http.request.uri == \"/$b\"" -T fields \
		-e tcp.srcport 2>/dev/null | head -1)
	[ -n "$cport" ] || fail "$kind: no port for B's connection"
	"$TLSASM" "${j[@]}" -o "$d/$kind-f.pcapng" "tcp port $cport" 2>"$d/$kind-f.asm" ||
		fail "$kind: tlsasm of B's connection exited with status $?: $(cat "$d/$kind-f.asm")"
	"$TLSASM" --port "$cport" "${j[@]}" -o "$d/$kind-i.pcapng" 2>"$d/$kind-i.asm" ||
		fail "$kind: tlsasm --port exited with status $?: $(cat "$d/$kind-i.asm")"
	for f in "$d/$kind-f.pcapng" "$d/$kind-i.pcapng"; do
		[ "$(http_seen "$f" | grep -c '^/')" = 1 ] && http_seen "$f" | grep -qx "/$b" ||
			fail "$kind: tshark does not decrypt B's connection alone in $f: $(http_seen "$f")"
	done
	[ "$(sqlite3 "${j[0]}.db" "SELECT resumes FROM connections WHERE orig_port = $cport")" = \
	  "$(sqlite3 "${j[0]}.db" "SELECT client_random FROM connections WHERE resumes IS NULL AND tls_version = 771")" ] ||
		fail "$kind: the index does not tie B to A: $(sqlite3 "${j[0]}.db" "SELECT orig_port, client_random, resumes FROM connections")"
	has ",$cport,127\.0\.0\.1,$port,.*,1\.2,,,[0-9a-f]*,yes," "$TLSASM" conns --csv "${j[@]}" ||
		fail "$kind: tlsasm conns does not say B has secrets: $("$TLSASM" conns --csv "${j[@]}")"
	note "$kind: ok"
}

check ticket 4433
check id 4434
