#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Files where another user can write: an unprivileged attacker (uid 65534) plants symbolic links,
# files of its own, hard links and FIFOs in a sticky world-writable directory, as in /tmp, at the
# names tlsrec -w, its rotated files (-C, -W), tlsasm -o and --keylog will write. Root's files the
# links point to keep their content, the attacker's files never hold the journal, and what is
# written is root's, mode 0600. With fs.protected_symlinks and fs.protected_hardlinks at 0, so that
# the kernel does not stop the attacker first (put back as they were at exit). Also: tlsasm with a
# FIFO as input fails at once; a stray file where the index goes does not stop a conversion; the
# README's "tlsasm journal.lz4* -o - | tshark -r -" works once an index exists; one's own FIFO
# and /dev/null are written as given.
. "$(dirname "$0")/lib.sh"
e2e_init
need setpriv tshark python3 timeout sysctl

d=$E2E_DIR
send="$(dirname "$0")/udp_send.py"
make_netns files
ns=$NETNS

sysctls="fs.protected_symlinks fs.protected_hardlinks"
saved=$(sysctl -n $sysctls | paste -sd' ')
restore_sysctls() {
	local name value
	set -- $saved
	for name in $sysctls; do
		value=$1
		shift
		sysctl -qw "$name=$value" || echo "$E2E_NAME: could not put $name back to $value" >&2
	done
}
trap 'restore_sysctls; e2e_cleanup' EXIT
note "fs.protected_symlinks and fs.protected_hardlinks were $saved: 0 for the test"
sysctl -qw fs.protected_symlinks=0 fs.protected_hardlinks=0

as_attacker() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

chmod 711 "$d"
pub=$d/pub
mkdir "$pub"
chmod 1777 "$pub"
printf "root's own file\n" >"$d/victim"
printf "root's other file\n" >"$d/victim2"
chmod 644 "$d/victim" "$d/victim2"
cp "$d/victim" "$d/victim.orig"
cp "$d/victim2" "$d/victim2.orig"

# intact: root's files the attacker pointed at are as they were.
intact() {
	cmp -s "$d/victim" "$d/victim.orig" || fail "$1: root's file was written through a link"
	cmp -s "$d/victim2" "$d/victim2.orig" || fail "$1: root's file was written through a hard link"
}

# roots FILE: a regular file of root's, mode 0600, one link.
roots() {
	[ -f "$1" ] && [ ! -L "$1" ] || fail "$1 is not a regular file: $(ls -l "$1")"
	[ "$(stat -c '%u %a %h' "$1")" = "0 600 1" ] ||
		fail "$1 is not root's, mode 600, one link: $(stat -c '%U %a %h' "$1")"
}

# attackers FILE TEXT: FILE is still the attacker's and holds TEXT only.
attackers() {
	[ "$(stat -c %u "$1")" = 65534 ] || fail "$1 changed owner"
	[ "$(cat "$1")" = "$2" ] || fail "$1, the attacker's file, now holds $(wc -c <"$1") bytes"
}

# record NAME PACKETS TLSREC_OPTIONS...: tlsrec --no-secrets on lo while PACKETS datagrams of
# 1200 random bytes are sent; its messages in $d/NAME.log.
record() {
	local name=$1 packets=$2
	shift 2
	start "$ns" "$d/$name.log" "$TLSREC" --no-secrets -i lo "$@"
	wait_for "$d/$name.log" "recording on lo"
	ip netns exec "$ns" python3 "$send" "$packets" 1200 20000
	sleep 0.3
	stop "$STARTED" || fail "tlsrec $* exited with status $?: $(cat "$d/$name.log")"
}

# A link at the journal's name, and a file of the attacker's (with another name it keeps).
as_attacker ln -s "$d/victim" "$pub/j.lz4"
record link 200 -w "$pub/j.lz4"
intact "tlsrec -w over a link"
roots "$pub/j.lz4"
grep -q "^tlsrec: $pub/j.lz4: a symbolic link was there: replaced by the journal" "$d/link.log" ||
	fail "no warning that the link was replaced: $(cat "$d/link.log")"
"$TLSASM" "$pub/j.lz4" -o "$d/j.pcapng" 2>"$d/j.err" || fail "the journal cannot be read: $(cat "$d/j.err")"
packets=$(count "$d/j.pcapng")
[ "$packets" -ge 200 ] || fail "the journal holds $packets packets"

as_attacker sh -c "echo mine >'$pub/own.lz4' && ln '$pub/own.lz4' '$pub/own.keep'"
record own 50 -w "$pub/own.lz4"
attackers "$pub/own.keep" mine
roots "$pub/own.lz4"

# Rotation in a ring of three: the first name the attacker's file, the second a link to root's
# file, the third a hard link to another of root's files. About 5 MB in files of 1 MB: each name
# is taken at least once, and the first two twice (the second time root's own file, truncated).
as_attacker sh -c "echo mine >'$pub/r.lz40' && ln '$pub/r.lz40' '$pub/r.keep' &&
	ln -s '$d/victim' '$pub/r.lz41' && ln '$d/victim2' '$pub/r.lz42'"
[ "$(stat -c %h "$d/victim2")" = 2 ] || fail "the attacker could not make the hard link"
record ring 4000 -C 1 -W 3 -w "$pub/r.lz4"
intact "tlsrec -C -W over a link and a hard link"
attackers "$pub/r.keep" mine
for f in "$pub"/r.lz40 "$pub"/r.lz41 "$pub"/r.lz42; do
	roots "$f"
done
[ "$(grep -c "was there: replaced by the journal" "$d/ring.log")" = 3 ] ||
	fail "not 3 warnings for 3 names replaced: $(cat "$d/ring.log")"

# tlsasm -o and --keylog: a link, a file of the attacker's, a FIFO of the attacker's with no
# reader (replaced, not waited on).
as_attacker sh -c "ln -s '$d/victim' '$pub/out.pcapng' && echo mine >'$pub/keys.txt' &&
	ln '$pub/keys.txt' '$pub/keys.keep' && mkfifo -m 666 '$pub/fifo.pcapng'"
"$TLSASM" "$pub/j.lz4" -o "$pub/out.pcapng" --keylog "$pub/keys.txt" 2>"$d/asm.err" ||
	fail "tlsasm -o --keylog exited with status $?: $(cat "$d/asm.err")"
intact "tlsasm -o over a link"
attackers "$pub/keys.keep" mine
roots "$pub/out.pcapng"
roots "$pub/keys.txt"
[ "$(count "$pub/out.pcapng")" = "$packets" ] || fail "$pub/out.pcapng does not hold the packets"
grep -q "^tlsasm: $pub/out.pcapng: a symbolic link was there: replaced, not written into" \
	"$d/asm.err" || fail "no warning that the link was replaced: $(cat "$d/asm.err")"
timeout 20 "$TLSASM" "$pub/j.lz4" -o "$pub/fifo.pcapng" 2>"$d/fifo.err" ||
	fail "tlsasm -o over the attacker's FIFO exited with status $?: $(cat "$d/fifo.err")"
roots "$pub/fifo.pcapng"

# An unprivileged user cannot replace another user's file in a sticky directory: refused, and
# the file left as it was.
cp "$pub/j.lz4" "$d/user.lz4"
chown 65533:65533 "$d/user.lz4"
rc=0
setpriv --reuid=65533 --regid=65533 --clear-groups \
	"$TLSASM" "$d/user.lz4" --keylog "$pub/own.keep" 2>"$d/user.err" || rc=$?
[ "$rc" = 2 ] || fail "tlsasm as another user over the attacker's file: status $rc: $(cat "$d/user.err")"
grep -q "^tlsasm: $pub/own.keep: a file of another user: not written into, and not replaced: Operation not permitted" \
	"$d/user.err" || fail "tlsasm as another user said: $(cat "$d/user.err")"
attackers "$pub/own.keep" mine

# One's own FIFO with a reader, and /dev/null: written as given.
mkfifo "$d/pipe"
cat "$d/pipe" >"$d/piped.pcapng" &
reader=$!
E2E_PIDS+=("$reader")
timeout 20 "$TLSASM" "$pub/j.lz4" -o "$d/pipe" 2>"$d/pipe.err" ||
	fail "tlsasm -o FIFO exited with status $?: $(cat "$d/pipe.err")"
wait "$reader"
[ -p "$d/pipe" ] || fail "the FIFO was replaced"
[ "$(count "$d/piped.pcapng")" = "$packets" ] || fail "what came through the FIFO is not the capture"
"$TLSASM" "$pub/j.lz4" -o /dev/null || fail "tlsasm -o /dev/null exited with status $?"
[ -c /dev/null ] || fail "/dev/null is no longer a device"
# /dev/stdout, root's link to /proc/self/fd/1, on a file and on a pipe: followed, not replaced.
"$TLSASM" "$pub/j.lz4" -o /dev/stdout >"$d/stdout.pcapng" 2>"$d/stdout.err" ||
	fail "tlsasm -o /dev/stdout exited with status $?: $(cat "$d/stdout.err")"
[ -L /dev/stdout ] || fail "/dev/stdout is no longer a symbolic link"
[ "$(count "$d/stdout.pcapng")" = "$packets" ] || fail "-o /dev/stdout did not write the capture"
frames=$("$TLSASM" "$pub/j.lz4" -o /dev/stdout | tshark -r - -T fields -e frame.number | wc -l)
[ "$frames" = "$packets" ] || fail "-o /dev/stdout | tshark -r - read $frames frames"

# A FIFO as input: an error at once, not a wait for a writer.
mkfifo "$d/in.fifo"
rc=0
timeout 10 "$TLSASM" "$d/in.fifo" -o "$d/in.pcapng" 2>"$d/in.err" || rc=$?
[ "$rc" != 124 ] || fail "tlsasm waited on a FIFO given as input"
[ "$rc" = 1 ] || fail "tlsasm with a FIFO as input: status $rc: $(cat "$d/in.err")"
grep -q "^tlsasm: $d/in.fifo: not a regular file" "$d/in.err" ||
	fail "tlsasm with a FIFO as input said: $(cat "$d/in.err")"

# A stray file, or a FIFO, where the index goes: a conversion without filters goes on without.
cp "$pub/j.lz4" "$d/s.lz4"
printf 'not an index\n' >"$d/s.lz4.db"
timeout 20 "$TLSASM" "$d/s.lz4" -o "$d/s.pcapng" 2>"$d/s.err" ||
	fail "a stray $d/s.lz4.db stopped the conversion (status $?): $(cat "$d/s.err")"
grep -q "^tlsasm: $d/s.lz4.db: not an index" "$d/s.err" || fail "no warning: $(cat "$d/s.err")"
rm "$d/s.lz4.db"
mkfifo "$d/s.lz4.db"
timeout 20 "$TLSASM" "$d/s.lz4" -o "$d/s.pcapng" 2>"$d/s.err" ||
	fail "a FIFO at $d/s.lz4.db stopped the conversion (status $?): $(cat "$d/s.err")"
[ "$(count "$d/s.pcapng")" = "$packets" ] || fail "the conversion with a stray index lost packets"

# No index where others can make files (they could make its -wal and -shm first).
! "$TLSASM" index "$pub"/r.lz4* >"$d/index.out" 2>&1 || fail "tlsasm index used $pub: $(ls "$pub")"
grep -q "in a directory others can write" "$d/index.out" || fail "no reason: $(cat "$d/index.out")"
[ ! -e "$pub/r.lz40.db" ] || fail "an index was made in $pub"

# The README's example once an index exists: the glob takes in the index, which is skipped.
own=$d/own
mkdir -m 700 "$own"
cp "$pub"/r.lz4? "$own/"
"$TLSASM" index "$own"/r.lz4* >"$d/index.out" 2>&1 || fail "tlsasm index failed: $(cat "$d/index.out")"
[ -f "$own/r.lz40.db" ] || fail "no index at $own/r.lz40.db: $(ls "$own")"
"$TLSASM" "$own"/r.lz40 "$own"/r.lz41 "$own"/r.lz42 -o "$d/ring.pcapng" 2>"$d/ring.err" ||
	fail "tlsasm on the ring: $(cat "$d/ring.err")"
frames=$("$TLSASM" -v "$own"/r.lz4* -o - 2>"$d/glob.err" | tshark -r - -T fields -e frame.number |
	wc -l) || fail "tlsasm r.lz4* -o - | tshark -r - failed: $(cat "$d/glob.err")"
[ "$frames" -gt 0 ] && [ "$frames" = "$(count "$d/ring.pcapng")" ] ||
	fail "tshark read $frames frames from the pipe, not $(count "$d/ring.pcapng"): $(cat "$d/glob.err")"
grep -q "^tlsasm: $own/r.lz40.db: the connection index, not a journal: skipped" "$d/glob.err" ||
	fail "no note that the index was skipped: $(cat "$d/glob.err")"
note "ok: $packets packets, $frames in the ring"
