#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# -s and -c as tcpdump has them: with -s 96 -c 10 both record the same first ten packets, cut to
# 96 bytes, with their original lengths.
. "$(dirname "$0")/lib.sh"
e2e_init
need tcpdump tshark python3

make_netns snap
ns=$NETNS
d=$E2E_DIR

start "$ns" "$d/tcpdump.log" tcpdump --immediate-mode -s 96 -c 10 -i lo -w "$d/ref.pcap"
dump=$STARTED
start "$ns" "$d/tlsrec.log" "$TLSREC" -s 96 -c 10 -i lo -w "$d/j.lz4"
rec=$STARTED
wait_for "$d/tcpdump.log" "listening on lo"
wait_for "$d/tlsrec.log" "recording on lo"
ip netns exec "$ns" python3 "$(dirname "$0")/udp_send.py" 20 500 0
rc=0
wait "$rec" || rc=$?
[ "$rc" = 0 ] || fail "tlsrec -c 10 exited with $rc"
wait "$dump" || true
grep -q "^10 packets recorded" "$d/tlsrec.log" || fail "$(cat "$d/tlsrec.log")"

"$TLSASM" "$d/j.lz4" -o "$d/out.pcapng" || fail "tlsasm exited with status $?"
same_packets "$d/ref.pcap" "$d/out.pcapng"
lens=$(tshark -r "$d/out.pcapng" -T fields -e frame.cap_len -e frame.len 2>/dev/null | sort -u)
[ "$lens" = "$(printf '96\t542')" ] || fail "captured/original lengths: $lens"
has "Capture length = 96" capinfos -I "$d/out.pcapng" || fail "the IDB snaplen is not 96"
note ok
