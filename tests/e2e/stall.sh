#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# An output that takes nothing (a pipe nobody reads, a hung disk): the first SIGINT still stops
# recording and detaches the filters at once; tlsrec then waits for the output, and a second
# SIGINT makes it give up, saying so, with exit status 1.
. "$(dirname "$0")/lib.sh"
e2e_init
need python3 mkfifo

make_netns stall
ns=$NETNS
d=$E2E_DIR
mkfifo "$d/fifo"
# Hold the pipe open without ever reading it.
exec 3<>"$d/fifo"

start "$ns" "$d/tlsrec.log" sh -c "exec \"$TLSREC\" -i lo -w - >\"$d/fifo\""
rec=$STARTED
wait_for "$d/tlsrec.log" "recording on lo"
# Fill the pipe, the chunk buffers and the ring buffer.
ip netns exec "$ns" python3 "$(dirname "$0")/udp_send.py" 100000 1000 0

kill -INT "$rec"
for ((i = 0; i < 40; i++)); do
	[ "$(ip netns exec "$ns" tc filter show dev lo egress)" = "" ] && break
	sleep 0.05
done
no_tc_leftovers "$ns" lo
kill -0 "$rec" 2>/dev/null || fail "tlsrec did not wait for its output: $(cat "$d/tlsrec.log")"

kill -INT "$rec"
rc=0
wait "$rec" || rc=$?
[ "$rc" = 1 ] || fail "tlsrec gave up with status $rc, not 1: $(cat "$d/tlsrec.log")"
grep -q "^tlsrec: writing standard output: the output takes nothing: giving up" "$d/tlsrec.log" ||
	fail "no word about giving up: $(cat "$d/tlsrec.log")"
grep -q "packets lost" "$d/tlsrec.log" || fail "no counts: $(cat "$d/tlsrec.log")"
exec 3>&-
note ok
