#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The file system fills up while tlsrec records a flood: tlsrec stops on its own with a clear
# error, the journal ends with its last whole chunk and an END record, tlsasm reads it with no
# damage, and the packets in it are the packets tlsrec says it recorded; the rest are counted lost,
# in tlsrec's report, in the journal and in tlsasm's.
. "$(dirname "$0")/lib.sh"
e2e_init
need python3
[ -x "${JRECORDS:-}" ] || fail "JRECORDS is not set to the jrecords binary"

make_netns full
ns=$NETNS
d=$E2E_DIR
mkdir "$d/small"
mount -t tmpfs -o size=3m tmpfs "$d/small" || fail "cannot mount a tmpfs"
E2E_MOUNTS+=("$d/small")

start "$ns" "$d/tlsrec.log" "$TLSREC" -i lo -w "$d/small/journal.lz4"
rec=$STARTED
wait_for "$d/tlsrec.log" "recording on lo "
# Incompressible datagrams until tlsrec stops: 3 MiB take a few thousand.
for ((i = 0; i < 60; i++)); do
	kill -0 "$rec" 2>/dev/null || break
	ip netns exec "$ns" python3 "$(dirname "$0")/udp_send.py" 2000 1000 0
done
for ((i = 0; i < 100; i++)); do
	kill -0 "$rec" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$rec" 2>/dev/null && fail "tlsrec still runs on a full file system: $(cat "$d/tlsrec.log")"
rc=0
wait "$rec" || rc=$?
cat "$d/tlsrec.log" >&2
[ "$rc" = 1 ] || fail "tlsrec exited with status $rc, not 1"
grep -q "^tlsrec: writing $d/small/journal.lz4: No space left on device" "$d/tlsrec.log" ||
	fail "no clear word that the disk is full"
recorded=$(sed -n 's/^\([0-9]*\) packets recorded$/\1/p' "$d/tlsrec.log")
lost=$(sed -n 's/^\([0-9]*\) packets lost$/\1/p' "$d/tlsrec.log")
[ -n "$recorded" ] && [ -n "$lost" ] || fail "no counts in tlsrec's report"
[ "$lost" -gt 0 ] || fail "tlsrec says nothing was lost, though the disk filled up under a flood"
grep -q "lost: the journal's output did not take them" "$d/tlsrec.log" ||
	fail "tlsrec does not say why packets were lost"

rc=0
"$TLSASM" -v "$d/small/journal.lz4" -o "$d/out.pcapng" 2>"$d/tlsasm.log" || rc=$?
cat "$d/tlsasm.log" >&2
[ "$rc" = 0 ] || fail "tlsasm exited with status $rc on the journal of a full disk"
grep -q damaged "$d/tlsasm.log" && fail "tlsasm found damage"
got=$(count "$d/out.pcapng")
[ "$got" = "$recorded" ] || fail "tlsasm read $got packets; tlsrec said it recorded $recorded"
grep -q "^tlsasm: $got packets ($lost lost while recording)" "$d/tlsasm.log" ||
	fail "tlsasm does not report the $lost packets lost"

"$JRECORDS" "$d/small/journal.lz4" >"$d/records.txt"
grep -q "^END packets=$recorded lost=$lost$" "$d/records.txt" ||
	fail "no END record with $recorded packets and $lost lost: $(grep ^END "$d/records.txt")"
grep -q "^LOSS what=1 where=3 " "$d/records.txt" || fail "no LOSS record for what was not written"
note "ok: $recorded packets recorded, $lost lost"
