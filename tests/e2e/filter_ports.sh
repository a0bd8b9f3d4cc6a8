#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The capture filter runs in the kernel: with 'tcp port P' beside traffic on two TCP ports and some
# UDP, the journal holds port P only, the same packets tcpdump takes with the same expression, and
# tlsasm writes the expression as the interfaces' if_filter.
. "$(dirname "$0")/lib.sh"
e2e_init
need tcpdump tshark python3 curl

make_netns filt
ns=$NETNS
d=$E2E_DIR
p=8001
q=8002
expr="tcp port $p"

for port in $p $q; do
	mkdir "$d/www$port"
	head -c 20000 /dev/urandom >"$d/www$port/blob"
	start "$ns" "$d/http$port.log" python3 -m http.server "$port" --bind 127.0.0.1 \
		--directory "$d/www$port"
	wait_port "$ns" "$port"
done

start "$ns" "$d/tcpdump.log" tcpdump --immediate-mode -i lo -w "$d/ref.pcap" $expr
dump=$STARTED
start "$ns" "$d/tlsrec.log" "$TLSREC" -i lo -w "$d/j.lz4" $expr
rec=$STARTED
wait_for "$d/tcpdump.log" "listening on lo"
wait_for "$d/tlsrec.log" "recording on lo "
# The filter program, not the capture program, is what TC runs.
has "tlsrec_filt_out" ip netns exec "$ns" tc filter show dev lo egress ||
	fail "no filter program at lo's egress: $(ip netns exec "$ns" tc filter show dev lo egress)"

for i in 1 2 3 4 5; do
	for port in $p $q; do
		ip netns exec "$ns" curl -sf -o /dev/null "http://127.0.0.1:$port/blob" ||
			fail "curl on port $port failed"
	done
	ip netns exec "$ns" python3 "$(dirname "$0")/udp_send.py" 50 300 0
done
sleep 0.5
stop "$rec" || fail "tlsrec exited with status $?: $(cat "$d/tlsrec.log")"
stop "$dump" || true
no_tc_leftovers "$ns" lo

"$TLSASM" "$d/j.lz4" -o "$d/out.pcapng" 2>"$d/tlsasm.log" ||
	fail "tlsasm exited with status $?: $(cat "$d/tlsasm.log")"
n=$(count "$d/out.pcapng")
[ "$n" -gt 50 ] || fail "only $n packets recorded"
other=$(tshark -r "$d/out.pcapng" -Y "!(tcp.port == $p)" -T fields -e frame.number 2>/dev/null | wc -l)
[ "$other" = 0 ] || fail "$other of $n packets are not on TCP port $p"
same_packets "$d/ref.pcap" "$d/out.pcapng"
grep -q "^$n packets recorded" "$d/tlsrec.log" || fail "tlsrec said: $(cat "$d/tlsrec.log")"
grep -q "^0 packets lost" "$d/tlsrec.log" || fail "tlsrec said: $(cat "$d/tlsrec.log")"
got=$(tshark -r "$d/out.pcapng" -X "read_format:MIME Files Format" -T fields \
	-e pcapng.options.option.data.interface.filter.string 2>/dev/null)
[ "$got" = "$expr" ] || fail "if_filter in the IDB: '$got', not '$expr'"
note "ok: $n packets on port $p, as tcpdump"
