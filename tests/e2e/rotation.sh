#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Rotation: tlsrec -C makes several files named as tcpdump names them, each readable alone; tlsasm
# reads them as one, in any order and with a file given twice, and gets tcpdump's packets. -W
# keeps a ring of files.
. "$(dirname "$0")/lib.sh"
e2e_init
need tcpdump tshark python3

make_netns rot
ns=$NETNS
d=$E2E_DIR
send="$(dirname "$0")/udp_send.py"

start "$ns" "$d/tcpdump.log" tcpdump --immediate-mode -B 65536 -i lo -w "$d/ref.pcap"
dump=$STARTED
start "$ns" "$d/tlsrec.log" "$TLSREC" -i lo -C 1 -w "$d/j.lz4"
rec=$STARTED
wait_for "$d/tcpdump.log" "listening on lo"
wait_for "$d/tlsrec.log" "recording on lo"
# Random payloads do not compress: about 5 MB of journal.
ip netns exec "$ns" python3 "$send" 4000 1200 20000
sleep 0.5
stop "$rec" || fail "tlsrec exited with status $?"
stop "$dump" || true
grep -q "^0 packets lost" "$d/tlsrec.log" || fail "tlsrec lost packets: $(cat "$d/tlsrec.log")"

files=("$d"/j.lz4*)
[ "${#files[@]}" -ge 4 ] || fail "expected at least 4 files, got: ${files[*]}"
for ((i = 1; i < ${#files[@]}; i++)); do
	[ -e "$d/j.lz4$i" ] || fail "file j.lz4$i is missing: ${files[*]}"
done
for f in "${files[@]}"; do
	"$TLSASM" "$f" -o "$d/alone.pcapng" || fail "$f cannot be read alone (status $?)"
done

# All files, newest first, the first one twice.
mapfile -t shuffled < <(printf '%s\n' "${files[@]}" | sort -r)
"$TLSASM" "${shuffled[@]}" "$d/j.lz4" -o "$d/out.pcapng" 2>"$d/tlsasm.err" ||
	fail "tlsasm exited with status $?: $(cat "$d/tlsasm.err")"
[ "$(grep -c "chunks are copies of chunks in" "$d/tlsasm.err")" = 1 ] ||
	fail "the duplicate file was not noticed once: $(cat "$d/tlsasm.err")"
same_packets "$d/ref.pcap" "$d/out.pcapng"
time_ordered "$d/out.pcapng"

# Leaving out a middle file is reported.
"$TLSASM" "$d/j.lz4" "$d/j.lz42" -o "$d/gap.pcapng" 2>"$d/gap.err" || fail "tlsasm failed on a gap"
grep -q "chunks of a recording are missing" "$d/gap.err" || fail "a missing file was not reported"

# A ring of two files.
mkdir "$d/ring"
start "$ns" "$d/ring.log" "$TLSREC" -i lo -C 1 -W 2 -w "$d/ring/r.lz4"
wait_for "$d/ring.log" "recording on lo"
ip netns exec "$ns" python3 "$send" 4000 1200 20000
sleep 0.3
stop "$STARTED" || fail "tlsrec -W exited with status $?"
[ "$(ls "$d/ring")" = "$(printf 'r.lz40\nr.lz41')" ] || fail "-W 2 made: $(ls "$d/ring")"
"$TLSASM" "$d"/ring/r.lz4* -o "$d/ring.pcapng" || fail "tlsasm cannot read the ring (status $?)"
note "ok: ${#files[@]} files"
