#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# TC hygiene: a killed tlsrec's filters are removed by the next run; two tlsrecs on one interface
# leave each other alone, also across pid namespaces; a qdisc and filter that were there before
# tlsrec survive it; an old-style ingress qdisc is refused; without CAP_SYS_ADMIN stale filters
# cannot be checked, and tlsrec says so.
. "$(dirname "$0")/lib.sh"
e2e_init
need python3 unshare setpriv

make_netns stale
ns=$NETNS
d=$E2E_DIR

filters() {
	local out
	out=$(ip netns exec "$ns" tc filter show dev "$1" ingress; ip netns exec "$ns" tc filter show dev "$1" egress)
	grep -c "handle" <<<"$out" || true
}

send_udp() {
	ip netns exec "$ns" python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range($1):
    s.sendto(b'x' * 64, ('127.0.0.1', 9))"
}

# 1. kill -9 leaves a filter; the next run removes it and leaves nothing itself.
start "$ns" "$d/a.log" "$TLSREC" -i lo -w "$d/a.lz4"
wait_for "$d/a.log" "recording on lo"
kill -KILL "$STARTED"
wait "$STARTED" 2>/dev/null || true
[ "$(filters lo)" = 1 ] || fail "after kill -9 there should be one stale filter, not $(filters lo)"
start "$ns" "$d/b.log" "$TLSREC" -v -i lo -w "$d/b.lz4"
wait_for "$d/b.log" "recording on lo"
grep -q "removed a TC filter left behind by a tlsrec that is gone" "$d/b.log" ||
	fail "the stale filter was not reported as removed"
[ "$(filters lo)" = 1 ] || fail "expected only the new run's filter, found $(filters lo)"
stop "$STARTED" || fail "tlsrec exited with status $?"
no_tc_leftovers "$ns" lo

# 2. Two live tlsrecs: stopping one leaves the other recording, and its filter in place.
start "$ns" "$d/c.log" "$TLSREC" -i lo -w "$d/c.lz4"
first=$STARTED
wait_for "$d/c.log" "recording on lo"
start "$ns" "$d/e.log" "$TLSREC" -v -i lo -w "$d/e.lz4"
second=$STARTED
wait_for "$d/e.log" "recording on lo"
grep -q "removed" "$d/e.log" && fail "the second tlsrec removed the first one's filter"
[ "$(filters lo)" = 2 ] || fail "expected two filters, found $(filters lo)"
send_udp 10
sleep 0.3
stop "$first" || fail "first tlsrec exited with status $?"
[ "$(filters lo)" = 1 ] || fail "stopping the first tlsrec removed the second's filter"
send_udp 10
sleep 0.3
stop "$second" || fail "second tlsrec exited with status $?"
# Each UDP datagram to port 9 brings an ICMP port unreachable: 2 packets per datagram.
grep -q "^20 packets recorded" "$d/c.log" || fail "first tlsrec: $(cat "$d/c.log")"
grep -q "^40 packets recorded" "$d/e.log" || fail "second tlsrec: $(cat "$d/e.log")"
no_tc_leftovers "$ns" lo

# 3. Someone else's clsact qdisc and filter survive tlsrec. tlsrec takes priority 1 and runs
# before the foreign filter.
ip netns exec "$ns" tc qdisc add dev lo clsact
ip netns exec "$ns" tc filter add dev lo egress prio 5 protocol ip u32 match u32 0 0 classid 1:1
start "$ns" "$d/f.log" "$TLSREC" -i lo -w "$d/f.lz4"
wait_for "$d/f.log" "recording on lo"
send_udp 5
sleep 0.3
stop "$STARTED" || fail "tlsrec exited with status $?"
grep -q "^10 packets recorded" "$d/f.log" || fail "with a foreign filter: $(cat "$d/f.log")"
grep -q "priority 1" "$d/f.log" && fail "tlsrec did not get priority 1: $(cat "$d/f.log")"

has clsact ip netns exec "$ns" tc qdisc show dev lo || fail "tlsrec removed a qdisc it did not add"
has u32 ip netns exec "$ns" tc filter show dev lo egress ||
	fail "tlsrec removed a filter that was not its own"
has tlsrec ip netns exec "$ns" tc filter show dev lo egress &&
	fail "tlsrec left a filter of its own next to the foreign one"

# 4. A foreign classifier of another kind at priority 1 runs first, and ends classification for
# every IP packet: tlsrec says so, records what reaches it, and leaves the foreign filter.
ip netns exec "$ns" tc filter add dev lo egress prio 1 protocol ip u32 match u32 0 0 classid 1:1
start "$ns" "$d/h.log" "$TLSREC" -i lo -w "$d/h.lz4"
wait_for "$d/h.log" "recording on lo"
grep -q "^tlsrec: lo: another kind of TC filter holds priority 1 and runs first" "$d/h.log" ||
	fail "no warning about the filter at priority 1: $(cat "$d/h.log")"
stop "$STARTED" || fail "tlsrec exited with status $?"
[ "$(ip netns exec "$ns" tc filter show dev lo egress | grep -c "pref 1 u32")" -ge 1 ] ||
	fail "tlsrec removed the foreign filter at priority 1"
has tlsrec ip netns exec "$ns" tc filter show dev lo egress && fail "tlsrec left its filter"

# 5. An empty clsact qdisc that was there before stays.
ip netns exec "$ns" tc filter del dev lo egress
start "$ns" "$d/g.log" "$TLSREC" -i lo -w "$d/g.lz4"
wait_for "$d/g.log" "recording on lo"
stop "$STARTED" || fail "tlsrec exited with status $?"
has clsact ip netns exec "$ns" tc qdisc show dev lo || fail "tlsrec removed an empty qdisc it did not add"

# 6. ... nor does it after a tlsrec was killed on it and the next one cleaned up.
start "$ns" "$d/h1.log" "$TLSREC" -i lo -w "$d/h1.lz4"
wait_for "$d/h1.log" "recording on lo"
kill -KILL "$STARTED"
wait "$STARTED" 2>/dev/null || true
start "$ns" "$d/h2.log" "$TLSREC" -v -i lo -w "$d/h2.lz4"
wait_for "$d/h2.log" "recording on lo"
stop "$STARTED" || fail "tlsrec exited with status $?"
grep -q "removed a TC filter left behind" "$d/h2.log" || fail "the stale filter was not removed"
has clsact ip netns exec "$ns" tc qdisc show dev lo ||
	fail "cleaning up after a killed tlsrec removed a qdisc that was there before it"
[ "$(filters lo)" = 0 ] || fail "filters left: $(filters lo)"
ip netns exec "$ns" tc qdisc del dev lo clsact

# 7. A live tlsrec in another pid namespace is left alone; once killed, its filters are removed
# when its heartbeat has stopped for 5 s.
start "$ns" "$d/p1.log" unshare --pid --fork --kill-child --mount-proc "$TLSREC" -i lo -w "$d/p1.lz4"
other=$STARTED
wait_for "$d/p1.log" "recording on lo"
start "$ns" "$d/p2.log" "$TLSREC" -v -i lo -w "$d/p2.lz4"
wait_for "$d/p2.log" "recording on lo"
grep -q "removed" "$d/p2.log" && fail "the filter of a live tlsrec in another pid namespace was removed"
send_udp 10
sleep 0.3
stop "$STARTED" || fail "tlsrec exited with status $?"
[ "$(filters lo)" = 1 ] || fail "expected the other tlsrec's filter to stay, found $(filters lo)"
kill -KILL "$other"
wait "$other" 2>/dev/null || true
sleep 5.5
start "$ns" "$d/p3.log" "$TLSREC" -v -i lo -w "$d/p3.lz4"
wait_for "$d/p3.log" "recording on lo"
stop "$STARTED" || fail "tlsrec exited with status $?"
grep -q "removed a TC filter left behind" "$d/p3.log" ||
	fail "a dead tlsrec's filter from another pid namespace was not removed: $(cat "$d/p3.log")"
no_tc_leftovers "$ns" lo

# 8. Without CAP_SYS_ADMIN a stale filter cannot be checked: said, and left.
start "$ns" "$d/c1.log" "$TLSREC" -i lo -w "$d/c1.lz4"
wait_for "$d/c1.log" "recording on lo"
kill -KILL "$STARTED"
wait "$STARTED" 2>/dev/null || true
start "$ns" "$d/c2.log" setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin "$TLSREC" -i lo -w "$d/c2.lz4"
wait_for "$d/c2.log" "recording on lo"
stop "$STARTED" || fail "tlsrec without CAP_SYS_ADMIN exited with status $?"
grep -q "cannot tell whether tlsrec's TC filter .* takes CAP_SYS_ADMIN" "$d/c2.log" ||
	fail "no word about the unchecked filter: $(cat "$d/c2.log")"
start "$ns" "$d/c3.log" "$TLSREC" -i lo -w "$d/c3.lz4"
wait_for "$d/c3.log" "recording on lo"
stop "$STARTED" || fail "tlsrec exited with status $?"
no_tc_leftovers "$ns" lo

# 9. An old-style ingress qdisc: tlsrec refuses a named interface, skips it among all of them.
make_netns ingress
ns2=$NETNS
make_veth "$ns2" "$ns"
ip netns exec "$ns2" tc qdisc add dev vA$$ ingress
rc=0
ip netns exec "$ns2" "$TLSREC" -i vA$$ -w "$d/i1.lz4" 2>"$d/i1.log" || rc=$?
[ "$rc" = 1 ] || fail "tlsrec on an interface with an ingress qdisc exited with $rc"
grep -q "^tlsrec: cannot attach to vA$$: it has an ingress qdisc, not clsact" "$d/i1.log" ||
	fail "no clear error for the ingress qdisc: $(cat "$d/i1.log")"
start "$ns2" "$d/i2.log" "$TLSREC" -w "$d/i2.lz4"
wait_for "$d/i2.log" "recording on lo"
grep -q "not recording vA$$: cannot attach: it has an ingress qdisc" "$d/i2.log" ||
	fail "the ingress-qdisc interface was not skipped with a warning: $(cat "$d/i2.log")"
stop "$STARTED" || fail "tlsrec exited with status $?"
has "qdisc ingress" ip netns exec "$ns2" tc qdisc show dev vA$$ || fail "the ingress qdisc was removed"
no_tc_leftovers "$ns2" lo
note ok
