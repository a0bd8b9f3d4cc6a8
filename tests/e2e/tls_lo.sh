#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# TLS over lo in a private namespace: openssl s_server and curl, recorded by tlsrec and tcpdump at
# the same time. tlsasm's pcapng must hold exactly tcpdump's packets, in time order, with the TLS
# handshakes visible; tlsrec must leave nothing behind in TC.
. "$(dirname "$0")/lib.sh"
e2e_init
need openssl curl tcpdump tshark capinfos ss

make_netns lo
ns=$NETNS
d=$E2E_DIR
make_cert "$d"
start "$ns" "$d/server.log" openssl s_server -accept 4433 -cert "$d/cert.pem" -key "$d/key.pem" -www -quiet
wait_port "$ns" 4433

record_both "$ns" lo

for i in 1 2 3 4 5; do
	ip netns exec "$ns" curl -sk --tlsv1.3 -o /dev/null "https://127.0.0.1:4433/req$i" ||
		fail "curl request $i failed"
done
ip netns exec "$ns" curl -sk --tlsv1.2 --tls-max 1.2 -o /dev/null https://127.0.0.1:4433/tls12 ||
	fail "curl TLS 1.2 request failed"
sleep 0.5

stop_both
grep -q "packets recorded" "$d/tlsrec.log" || fail "tlsrec did not report its counts"
grep -q "^0 packets lost" "$d/tlsrec.log" || fail "tlsrec lost packets: $(cat "$d/tlsrec.log")"
no_tc_leftovers "$ns" lo
[ "$(stat -c %a "$d/journal.lz4")" = 600 ] || fail "journal mode is not 0600"

"$TLSASM" "$d/journal.lz4" -o "$d/out.pcapng" || fail "tlsasm exited with status $?"
[ "$(stat -c %a "$d/out.pcapng")" = 600 ] || fail "pcapng mode is not 0600"
capinfos "$d/out.pcapng" >/dev/null || fail "capinfos cannot read the output"
same_packets "$d/ref.pcap" "$d/out.pcapng"
time_ordered "$d/out.pcapng"

hellos=$(tshark -r "$d/out.pcapng" -Y "tls.handshake.type == 1" 2>/dev/null | wc -l)
[ "$hellos" = 6 ] || fail "expected 6 ClientHellos, tshark shows $hellos"
lz4 -t "$d/journal.lz4" 2>/dev/null || fail "the stock lz4 tool does not accept the journal"
note "ok: $(tshark -r "$d/out.pcapng" 2>/dev/null | wc -l) packets, the same as tcpdump's"
