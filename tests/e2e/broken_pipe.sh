#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tlsrec -w - into a pipe whose reader goes away (head -c) during a flood: SIGPIPE does not kill
# it; it stops on its own with a clear error and status 1, counts as recorded only the packets the
# pipe took, and the rest as lost, saying why.
. "$(dirname "$0")/lib.sh"
e2e_init
need python3 head

make_netns pipe
ns=$NETNS
d=$E2E_DIR

start "$ns" "$d/run.log" bash -c '"$0" -i lo -w - 2>"$1" | head -c 3000000 >"$2"
	echo "${PIPESTATUS[0]}" >"$3"' "$TLSREC" "$d/tlsrec.log" "$d/head.lz4" "$d/rc"
run=$STARTED
wait_for "$d/tlsrec.log" "recording on lo "
for ((i = 0; i < 60; i++)); do
	[ -s "$d/rc" ] && break
	ip netns exec "$ns" python3 "$(dirname "$0")/udp_send.py" 2000 1000 0
done
for ((i = 0; i < 100; i++)); do
	[ -s "$d/rc" ] && break
	sleep 0.1
done
[ -s "$d/rc" ] || fail "tlsrec still runs after its reader went away: $(cat "$d/tlsrec.log")"
wait "$run" || true
cat "$d/tlsrec.log" >&2
rc=$(cat "$d/rc")
[ "$rc" = 1 ] || fail "tlsrec exited with status $rc, not 1 (141 is SIGPIPE)"
grep -q "^tlsrec: writing standard output: Broken pipe: stopped recording$" "$d/tlsrec.log" ||
	fail "no clear word that the pipe broke"
[ "$(grep -c "Broken pipe" "$d/tlsrec.log")" = 1 ] || fail "the broken pipe is reported twice"
recorded=$(sed -n 's/^\([0-9]*\) packets recorded$/\1/p' "$d/tlsrec.log")
lost=$(sed -n 's/^\([0-9]*\) packets lost$/\1/p' "$d/tlsrec.log")
[ -n "$recorded" ] && [ -n "$lost" ] || fail "no counts in tlsrec's report"
[ "$lost" -gt 0 ] || fail "tlsrec says nothing was lost, though its reader went away under a flood"
grep -q "lost: the journal's output did not take them" "$d/tlsrec.log" ||
	fail "tlsrec does not say why packets were lost"

# What head kept ends in a cut chunk: tlsasm reads the whole ones and says the rest is damaged.
rc=0
"$TLSASM" "$d/head.lz4" -o "$d/out.pcapng" 2>"$d/tlsasm.log" || rc=$?
[ "$rc" = 3 ] || fail "tlsasm exited with $rc on a cut stream: $(cat "$d/tlsasm.log")"
got=$(count "$d/out.pcapng")
# The pipe took the chunks tlsrec counts as recorded; head read the first 3 MB of them. Beyond
# those, the pipe held at most the chunk head cut (1 MiB of records, about a thousand of these
# packets) and the 64 KiB of its buffer.
[ "$got" -le "$recorded" ] || fail "the stream holds $got packets, tlsrec counted $recorded"
[ "$((recorded - got))" -le 1200 ] ||
	fail "tlsrec counted $recorded packets as recorded, but the pipe took about $got"
note "ok: $recorded packets recorded, $lost lost, $got read back"
