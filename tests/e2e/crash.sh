#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Crash safety: after kill -9, everything but the last flush interval is readable; a journal cut
# short or with damaged bytes still yields its intact chunks, with one warning per damaged region
# and exit status 3.
. "$(dirname "$0")/lib.sh"
e2e_init
need python3 tshark

make_netns crash
ns=$NETNS
d=$E2E_DIR
send="$(dirname "$0")/udp_send.py"

start "$ns" "$d/tlsrec.log" "$TLSREC" -i lo --flush-interval 0.2 -w "$d/j.lz4"
rec=$STARTED
wait_for "$d/tlsrec.log" "recording on lo"
start "$ns" "$d/send.log" python3 "$send" 100000 300 4000 1000
sender=$STARTED
# 3 s of sending, or more on a busy machine: at least 12000 datagrams.
wait_for "$d/send.log" "^sent 12000$" 60
kill -KILL "$rec"
killed=$(date +%s.%N)
wait "$rec" 2>/dev/null || true
kill -KILL "$sender"

rc=0
"$TLSASM" "$d/j.lz4" -o "$d/all.pcapng" 2>"$d/all.err" || rc=$?
# kill -9 may land while a chunk is being written: its tail is then a damaged region.
[ "$rc" = 0 ] || [ "$rc" = 3 ] || fail "tlsasm exited with $rc: $(cat "$d/all.err")"
total=$(count "$d/all.pcapng")
[ "$total" -gt 5000 ] || fail "only $total of 12000 or more packets survived the recording"
last=$(tshark -r "$d/all.pcapng" -T fields -e frame.time_epoch 2>/dev/null | tail -1)
awk -v k="$killed" -v l="$last" 'BEGIN { exit !(k - l < 1.0) }' ||
	fail "the last packet kept is $(awk -v k="$killed" -v l="$last" 'BEGIN { print k - l }') s older than the kill (flush interval 0.2 s)"

# Cut the journal in the middle of a chunk.
size=$(stat -c %s "$d/j.lz4")
head -c $((size / 2)) "$d/j.lz4" >"$d/cut.lz4"
rc=0
"$TLSASM" "$d/cut.lz4" -o "$d/cut.pcapng" 2>"$d/cut.err" || rc=$?
[ "$rc" = 3 ] || fail "a cut journal gave status $rc, not 3: $(cat "$d/cut.err")"
[ "$(grep -c "damaged region at offset" "$d/cut.err")" = 1 ] || fail "cut: $(cat "$d/cut.err")"
grep -q "truncated chunk" "$d/cut.err" || fail "cut: the warning does not say truncated: $(cat "$d/cut.err")"
n=$(count "$d/cut.pcapng")
[ "$n" -gt 0 ] && [ "$n" -lt "$total" ] || fail "cut journal: $n packets of $total"

# Overwrite 100 bytes in the middle of the journal.
cp "$d/j.lz4" "$d/bad.lz4"
printf '%0100d' 0 | dd of="$d/bad.lz4" bs=1 seek=$((size / 3)) conv=notrunc status=none
rc=0
"$TLSASM" "$d/bad.lz4" -o "$d/bad.pcapng" 2>"$d/bad.err" || rc=$?
[ "$rc" = 3 ] || fail "a damaged journal gave status $rc, not 3: $(cat "$d/bad.err")"
grep -q "damaged region at offset" "$d/bad.err" || fail "no damage reported: $(cat "$d/bad.err")"
n=$(count "$d/bad.pcapng")
[ "$n" -gt $((total / 2)) ] && [ "$n" -lt "$total" ] ||
	fail "damaged journal: $n packets of $total (one chunk should be lost)"

# A file of random bytes is not a journal; random bytes appended to one are damage.
head -c 100000 /dev/urandom >"$d/random"
rc=0
"$TLSASM" "$d/random" -o "$d/r.pcapng" 2>"$d/r.err" || rc=$?
[ "$rc" = 1 ] && grep -q "not a tlsrec journal" "$d/r.err" || fail "random bytes: $rc $(cat "$d/r.err")"
cat "$d/j.lz4" "$d/random" >"$d/tail.lz4"
rc=0
"$TLSASM" "$d/tail.lz4" -o "$d/t.pcapng" 2>"$d/t.err" || rc=$?
[ "$rc" = 3 ] || fail "garbage after a journal gave status $rc"
note "ok: $total packets after kill -9"
