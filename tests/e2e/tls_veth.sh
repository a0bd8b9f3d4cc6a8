#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# TLS across a veth pair between two namespaces: tlsrec and tcpdump record the client's end, both
# directions. The packets, their count and bytes per direction must equal tcpdump's; direction
# flags must say which were sent and which received.
. "$(dirname "$0")/lib.sh"
e2e_init
need openssl curl tcpdump tshark ss

make_netns cli
cli=$NETNS
make_netns srv
srv=$NETNS
make_veth "$cli" "$srv"
dev=vA$$
d=$E2E_DIR
make_cert "$d"
start "$srv" "$d/server.log" openssl s_server -accept 4433 -cert "$d/cert.pem" -key "$d/key.pem" -www -quiet
wait_port "$srv" 4433

record_both "$cli" "$dev"
grep -q "recording on $dev (in, out)" "$d/tlsrec.log" || fail "$dev is not hooked both ways"

for i in 1 2 3; do
	ip netns exec "$cli" curl -sk -o /dev/null "https://10.99.0.2:4433/veth$i" ||
		fail "curl request $i failed"
done
sleep 0.5
stop_both
grep -q "^0 packets lost" "$d/tlsrec.log" || fail "tlsrec lost packets: $(cat "$d/tlsrec.log")"
no_tc_leftovers "$cli" "$dev"

"$TLSASM" "$d/journal.lz4" -o "$d/out.pcapng" || fail "tlsasm exited with status $?"
same_packets "$d/ref.pcap" "$d/out.pcapng"
time_ordered "$d/out.pcapng"

# Sent packets come from 10.99.0.1 and carry the outbound flag; received ones the inbound flag.
bad=$(tshark -r "$d/out.pcapng" -Y ip -T fields -e ip.src -e frame.packet_flags_direction 2>/dev/null |
	awk '($1 == "10.99.0.1" && $2 != "0x00000002") || ($1 == "10.99.0.2" && $2 != "0x00000001")' | wc -l)
[ "$bad" = 0 ] || fail "$bad packets have the wrong direction flag"
[ "$(tshark -r "$d/out.pcapng" -T fields -e frame.interface_name 2>/dev/null | sort -u)" = "$dev" ] ||
	fail "interface name is not $dev"
note "ok: $(count "$d/out.pcapng") packets on $dev, the same as tcpdump's"
