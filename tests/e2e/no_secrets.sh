#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tlsrec --no-secrets: packets and socket owners, no TLS secrets. Over lo in a private namespace,
# curl fetches from openssl s_server -www while tlsrec --no-secrets and tcpdump record. The packets
# must be tcpdump's and the journal must name curl as the owner of its socket, but hold no SECRET
# record, although curl's own key log shows there were secrets to take; tlsrec must load no uprobe
# program at all, and tlsasm must count the connection as one without secrets, which tshark then
# cannot decrypt. Then the same run without --no-secrets, to show that these checks can fail.
. "$(dirname "$0")/lib.sh"
e2e_init
need openssl curl tcpdump tshark
[ -x "${JRECORDS:-}" ] || fail "JRECORDS is not set to the jrecords test tool"

make_netns nosec
ns=$NETNS
d=$E2E_DIR
make_cert "$d"
start "$ns" "$d/server.log" openssl s_server -accept 4433 -cert "$d/cert.pem" -key "$d/key.pem" \
	-www -quiet
wait_port "$ns" 4433

# uprobe_progs PID: how many BPF programs of type kprobe (2), as uprobes are, PID holds; fails
# when it holds no BPF program at all (the count would mean nothing).
uprobe_progs() {
	local types
	types=$(awk '/^prog_type:/ { print $2 }' /proc/"$1"/fdinfo/* 2>/dev/null || true)
	[ -n "$types" ] || fail "tlsrec (pid $1) holds no BPF program"
	grep -cx 2 <<<"$types" || true
}

# run NAME [OPTION]: record curl's request with tlsrec OPTION -i lo (and tcpdump), into
# $d/NAME.lz4, $d/NAME.pcap and curl's key log $d/NAME.keys; sets UPROBES.
run() {
	local name=$1 rec dump
	shift
	start "$ns" "$d/$name.tcpdump.log" tcpdump --immediate-mode -i lo -w "$d/$name.pcap"
	dump=$STARTED
	start "$ns" "$d/$name.log" "$TLSREC" -v "$@" -i lo -w "$d/$name.lz4"
	rec=$STARTED
	wait_for "$d/$name.tcpdump.log" "listening on lo"
	wait_for "$d/$name.log" "recording on lo "
	UPROBES=$(uprobe_progs "$rec")
	ip netns exec "$ns" env SSLKEYLOGFILE="$d/$name.keys" curl -sk -o /dev/null \
		"https://127.0.0.1:4433/$name" || fail "curl failed"
	[ -s "$d/$name.keys" ] || fail "curl wrote no key log: nothing shows there were secrets"
	sleep 0.5
	stop "$rec" || fail "tlsrec $* exited with status $?: $(cat "$d/$name.log")"
	stop "$dump" || true
	"$JRECORDS" "$d/$name.lz4" >"$d/$name.txt" || fail "jrecords cannot read $name.lz4"
	"$TLSASM" "$d/$name.lz4" -o "$d/$name.pcapng" 2>"$d/$name.tlsasm.log" ||
		fail "tlsasm exited with status $?: $(cat "$d/$name.tlsasm.log")"
}

run nosec --no-secrets
grep -q "no TLS secrets (--no-secrets); writing" "$d/nosec.log" ||
	fail "tlsrec -v does not say it records no secrets: $(cat "$d/nosec.log")"
[ "$UPROBES" = 0 ] || fail "tlsrec --no-secrets loaded $UPROBES uprobe programs"
grep -q "^0 TLS secrets recorded" "$d/nosec.log" || fail "tlsrec --no-secrets recorded secrets"
grep -q '^SECRET' "$d/nosec.txt" &&
	fail "the journal holds SECRET records: $(grep -m1 '^SECRET' "$d/nosec.txt")"
grep -qE '^SOCKET how=CONNECT .* comm=curl .* remote=127\.0\.0\.1:4433$' "$d/nosec.txt" ||
	fail "the journal does not name curl as the owner of its connection"
same_packets "$d/nosec.pcap" "$d/nosec.pcapng"
grep -q "1 TLS connection in the packets, 0 with secrets" "$d/nosec.tlsasm.log" ||
	fail "tlsasm does not count one TLS connection without secrets:" \
		"$(cat "$d/nosec.tlsasm.log")"
[ -z "$(http_seen "$d/nosec.pcapng")" ] || fail "tshark decrypts HTTP that had no secrets"
no_tc_leftovers "$ns" lo

# Without the option, the same checks see uprobes, a SECRET record and the request decrypted.
run full
[ "$UPROBES" -gt 0 ] || fail "tlsrec loaded no uprobe program without --no-secrets"
grep -qE '^[1-9][0-9]* TLS secrets recorded' "$d/full.log" ||
	fail "tlsrec recorded no secrets without --no-secrets: $(cat "$d/full.log")"
grep -q '^SECRET pid=[0-9]* tid=[0-9]* version=0x0304 ' "$d/full.txt" ||
	fail "no SECRET record without --no-secrets"
grep -qx /full <(http_seen "$d/full.pcapng") || fail "tshark does not show /full decrypted"
note "ok: $(grep -c '^PACKET' "$d/nosec.txt") packets, tcpdump's, and curl's socket, no secret;" \
	"$UPROBES uprobe programs and the request decrypted without --no-secrets"
