#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# An interface without a link-layer header (a tun device, as WireGuard and VPNs use): TC sees the
# IP header first. tlsasm must write it as raw IP (LINKTYPE_RAW) and hold tcpdump's packets.
. "$(dirname "$0")/lib.sh"
e2e_init
need python3 tcpdump tshark capinfos

make_netns tun
ns=$NETNS
d=$E2E_DIR
start "$ns" "$d/tun.log" python3 "$(dirname "$0")/tun_echo.py" tun0
wait_for "$d/tun.log" ready
ip -n "$ns" addr add 10.77.0.1/24 dev tun0
ip -n "$ns" link set tun0 up

record_both "$ns" tun0
grep -q "recording on tun0 (in, out)" "$d/tlsrec.log" || fail "tun0 is not hooked both ways"
ip netns exec "$ns" python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for i in range(20):
    s.sendto(b'tun %d' % i, ('10.77.0.2', 9999))
    s.recvfrom(100)" || fail "the echo over tun0 did not answer"
sleep 0.3
stop_both
grep -q "^40 packets recorded" "$d/tlsrec.log" || fail "$(cat "$d/tlsrec.log")"

"$TLSASM" "$d/journal.lz4" -o "$d/out.pcapng" || fail "tlsasm exited with status $?"
has "Encapsulation = Raw IP" capinfos -I "$d/out.pcapng" || fail "tun0 is not raw IP in the output"
same_packets "$d/ref.pcap" "$d/out.pcapng"
[ "$(tshark -r "$d/out.pcapng" -Y "udp.dstport == 9999 && frame.packet_flags_direction == 0x00000002" 2>/dev/null | wc -l)" = 20 ] ||
	fail "expected 20 sent datagrams flagged outbound"
no_tc_leftovers "$ns" tun0
note ok
