#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# A recorded interface deleted while tlsrec records two: tlsrec warns, writes it in the journal
# (tlsasm says so too) and goes on with the other; once that one is deleted as well, tlsrec stops
# on its own, as tcpdump does when its interface disappears (status 1), and the journal ends
# cleanly.
. "$(dirname "$0")/lib.sh"
e2e_init
[ -x "${JRECORDS:-}" ] || fail "JRECORDS is not set to the jrecords binary"

make_netns gonea
a=$NETNS
make_netns goneb
b=$NETNS
d=$E2E_DIR
for n in 1 2; do
	ip link add g$n$$ netns "$a" type veth peer name h$n$$ netns "$b"
	ip -n "$a" addr add 10.99.$n.1/24 dev g$n$$
	ip -n "$b" addr add 10.99.$n.2/24 dev h$n$$
	ip -n "$a" link set g$n$$ up
	ip -n "$b" link set h$n$$ up
done

# send PORT...: one UDP datagram from namespace a to each address of b, to each port.
send() {
	ip netns exec "$a" bash -c 'for p in "$@"; do for n in 1 2; do
		{ echo x >/dev/udp/10.99.$n.2/$p; } 2>/dev/null || true; done; done' send "$@"
}

start "$a" "$d/tlsrec.log" "$TLSREC" -i g1$$ -i g2$$ -w "$d/journal.lz4"
rec=$STARTED
wait_for "$d/tlsrec.log" "recording on g1$$ (in, out), g2$$ (in, out)"
send 7001 7002 7003

ip -n "$a" link del g1$$
wait_for "$d/tlsrec.log" "^tlsrec: g1$$: the interface disappeared$" 5
kill -0 "$rec" 2>/dev/null || fail "tlsrec stopped with an interface left: $(cat "$d/tlsrec.log")"
send 7101 7102 7103 7104 7105
sleep 1
kill -0 "$rec" 2>/dev/null || fail "tlsrec stopped with an interface left: $(cat "$d/tlsrec.log")"

ip -n "$a" link del g2$$
for ((i = 0; i < 50; i++)); do
	kill -0 "$rec" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$rec" 2>/dev/null &&
	fail "tlsrec still runs 5 s after the last recorded interface disappeared: $(cat "$d/tlsrec.log")"
rc=0
wait "$rec" || rc=$?
cat "$d/tlsrec.log" >&2
[ "$rc" = 1 ] || fail "tlsrec exited with status $rc, not 1"
grep -q "^tlsrec: g2$$: the interface disappeared; no recorded interface is left$" "$d/tlsrec.log" ||
	fail "no warning for the second interface"
grep -q "^tlsrec: stopped: every interface recorded has disappeared$" "$d/tlsrec.log" ||
	fail "no word about why tlsrec stopped"

rc=0
"$TLSASM" "$d/journal.lz4" -o "$d/out.pcapng" 2>"$d/tlsasm.log" || rc=$?
cat "$d/tlsasm.log" >&2
[ "$rc" = 0 ] || fail "tlsasm exited with status $rc"
grep -q "^tlsasm: g1$$: the interface disappeared at .* while tlsrec recorded it$" \
	"$d/tlsasm.log" || fail "tlsasm does not say that g1$$ disappeared"
grep -q "^tlsasm: g2$$: the interface disappeared at " "$d/tlsasm.log" ||
	fail "tlsasm does not say that g2$$ disappeared"
# Recording went on on g2 after g1 was gone: the second batch is there, on g2 only.
tshark -r "$d/out.pcapng" -Y 'udp.dstport >= 7101 && udp.dstport <= 7105 && !icmp' -T fields \
	-e frame.interface_name -e ip.dst 2>/dev/null | sort -u >"$d/after.txt"
[ "$(cat "$d/after.txt")" = "$(printf 'g2%s\t10.99.2.2' $$)" ] ||
	fail "after g1$$ went, expected the datagrams to 10.99.2.2 on g2$$ only: $(cat "$d/after.txt")"
[ "$(tshark -r "$d/out.pcapng" -Y 'udp.dstport >= 7101 && udp.dstport <= 7105 && !icmp' 2>/dev/null |
	wc -l)" = 5 ] || fail "not every datagram sent on g2$$ after g1$$ went was recorded"
"$JRECORDS" "$d/journal.lz4" >"$d/records.txt"
grep -q "^IFGONE ifindex=[0-9]* name=g1$$$" "$d/records.txt" || fail "no IFGONE record for g1$$"
grep -q "^IFGONE ifindex=[0-9]* name=g2$$$" "$d/records.txt" || fail "no IFGONE record for g2$$"
grep -q "^END " "$d/records.txt" || fail "the journal has no END record"
note ok
