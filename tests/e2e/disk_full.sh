#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The file system fills up while tlsrec records a flood: tlsrec stops on its own with a clear
# error, the journal ends with its last whole chunk and an END record, tlsasm reads it with no
# damage, and the packets in it are the packets tlsrec says it recorded; the rest are counted lost,
# in tlsrec's report, in the journal and in tlsasm's. On tmpfs, and on ext4 in a loop device.
. "$(dirname "$0")/lib.sh"
e2e_init
need python3 mkfs.ext4 truncate
[ -x "${JRECORDS:-}" ] || fail "JRECORDS is not set to the jrecords binary"

make_netns full
ns=$NETNS
d=$E2E_DIR

# fill NAME MOUNT_ARGS...: record onto a 3 MiB file system mounted with MOUNT_ARGS until it is
# full, and check what tlsrec said and what the journal holds.
fill() {
	local name=$1 m=$d/$1 rec rc recorded lost got i
	shift
	mkdir "$m"
	mount "$@" "$m" || fail "$name: cannot mount a file system"
	E2E_MOUNTS+=("$m")
	start "$ns" "$d/$name.log" "$TLSREC" -i lo -w "$m/journal.lz4"
	rec=$STARTED
	wait_for "$d/$name.log" "recording on lo "
	# Incompressible datagrams until tlsrec stops: 3 MiB take a few thousand.
	for ((i = 0; i < 60; i++)); do
		kill -0 "$rec" 2>/dev/null || break
		ip netns exec "$ns" python3 "$(dirname "$0")/udp_send.py" 2000 1000 0
	done
	for ((i = 0; i < 100; i++)); do
		kill -0 "$rec" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$rec" 2>/dev/null &&
		fail "$name: tlsrec still runs on a full file system: $(cat "$d/$name.log")"
	rc=0
	wait "$rec" || rc=$?
	cat "$d/$name.log" >&2
	[ "$rc" = 1 ] || fail "$name: tlsrec exited with status $rc, not 1"
	grep -q "^tlsrec: writing $m/journal.lz4: No space left on device" "$d/$name.log" ||
		fail "$name: no clear word that the disk is full"
	recorded=$(sed -n 's/^\([0-9]*\) packets recorded$/\1/p' "$d/$name.log")
	lost=$(sed -n 's/^\([0-9]*\) packets lost$/\1/p' "$d/$name.log")
	[ -n "$recorded" ] && [ -n "$lost" ] || fail "$name: no counts in tlsrec's report"
	[ "$lost" -gt 0 ] ||
		fail "$name: tlsrec says nothing was lost, though the disk filled up under a flood"
	grep -q "lost: the journal's output did not take them" "$d/$name.log" ||
		fail "$name: tlsrec does not say why packets were lost"

	rc=0
	"$TLSASM" -v "$m/journal.lz4" -o "$d/$name.pcapng" 2>"$d/$name.tlsasm.log" || rc=$?
	cat "$d/$name.tlsasm.log" >&2
	[ "$rc" = 0 ] || fail "$name: tlsasm exited with status $rc on the journal of a full disk"
	grep -q damaged "$d/$name.tlsasm.log" && fail "$name: tlsasm found damage"
	got=$(count "$d/$name.pcapng")
	[ "$got" = "$recorded" ] ||
		fail "$name: tlsasm read $got packets; tlsrec said it recorded $recorded"
	grep -q "^tlsasm: $got packets ($lost lost while recording)" "$d/$name.tlsasm.log" ||
		fail "$name: tlsasm does not report the $lost packets lost"

	"$JRECORDS" "$m/journal.lz4" >"$d/$name.records"
	grep -q "^END packets=$recorded lost=$lost$" "$d/$name.records" ||
		fail "$name: no END record with $recorded packets and $lost lost: $(grep ^END "$d/$name.records")"
	grep -q "^LOSS what=1 where=3 " "$d/$name.records" ||
		fail "$name: no LOSS record for what was not written"
	note "$name: $recorded packets recorded, $lost lost"
}

fill tmpfs -t tmpfs -o size=3m tmpfs
truncate -s 3m "$d/ext4.img"
mkfs.ext4 -q -F -m 0 "$d/ext4.img" || fail "mkfs.ext4 failed"
fill ext4 -o loop "$d/ext4.img"
note ok
