#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# unit.hostile.KIND: tlsasm reads a journal that tests/tools/hostile crafts to cost memory or time
# out of proportion to its size (1 MB to 75 MB here) within a bound on its peak resident memory
# and its CPU time, and says what it dropped. Environment: TLSASM and HOSTILE, the binaries under test
# (ctest sets them).
set -euo pipefail

kind=$1
fail() {
	echo "FAIL: hostile.$kind: $*" >&2
	exit 1
}
[ -x /usr/bin/time ] || fail "needs /usr/bin/time (package time; bash .ci/deps installs it)"
command -v capinfos >/dev/null || fail "needs capinfos (package tshark; bash .ci/deps installs it)"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# AddressSanitizer keeps freed memory (256 MB) in quarantine, which would count as resident.
quarantine=quarantine_size_mb=1:thread_local_quarantine_size_kb=64
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}$quarantine
export TMPDIR=$dir

# in_order PCAPNG PACKETS: it holds that many packets, in time order.
in_order() {
	local info
	info=$(capinfos -M -c -o "$1") || fail "capinfos cannot read $1"
	grep -q "Number of packets: *$2\$" <<<"$info" || fail "$1: not $2 packets: $info"
	grep -q "Strict time order: *True" <<<"$info" || fail "$1: packets out of time order"
}

# bounded MIB SECONDS ARGS...: run tlsasm ARGS, its stderr to $dir/err; fail past either bound.
bounded() {
	local mib=$1 secs=$2 kb user sys s
	shift 2
	/usr/bin/time -f '%M %U %S' -o "$dir/time" "$TLSASM" "$@" 2>"$dir/err" ||
		fail "tlsasm $* failed: $(cat "$dir/err")"
	read -r kb user sys <"$dir/time"
	s=$(awk -v u="$user" -v k="$sys" 'BEGIN { print u + k }')
	echo "tlsasm $*: $((kb / 1024)) MiB, $s s of CPU" >&2
	[ "$kb" -le $((mib * 1024)) ] || fail "tlsasm $* took $((kb / 1024)) MiB, more than $mib MiB"
	# CPU time, not the clock's: what another job on the machine takes is not ours.
	awk -v s="$s" -v max="$secs" 'BEGIN { exit !(s <= max) }' ||
		fail "tlsasm $* took $s s of CPU, more than $secs s"
}

j=$dir/$kind.lz4
case $kind in
overlap)
	# 24 chunks of 10 MB over one time range: held at once, 300 MiB.
	"$HOSTILE" overlap "$j" 24 10000 1000
	bounded 160 60 "$j" -o "$dir/out.pcapng"
	in_order "$dir/out.pcapng" 240000
	# 600 chunks of 300 KB: 375 past the 64 MiB held, merged through two levels of runs.
	"$HOSTILE" overlap "$j" 600 1500 150
	bounded 160 60 "$j" -o "$dir/out.pcapng"
	in_order "$dir/out.pcapng" 900000
	;;
sockets)
	# 1.5 million SOCKET records: 630 MiB if all are kept.
	"$HOSTILE" sockets "$j" 1500000
	bounded 350 60 "$j" -o /dev/null --keylog "$dir/keys"
	grep -q "975712 SOCKET records past the first 524288 are dropped" "$dir/err" ||
		fail "no word of the SOCKET records dropped: $(cat "$dir/err")"
	bounded 350 60 index --db "$dir/index.db" "$j"
	;;
procs)
	# 3000 PROCESS records with 60 KB command lines: 240 MiB if all are kept.
	"$HOSTILE" procs "$j" 3000 60000
	bounded 120 60 "$j" -o /dev/null
	bounded 120 60 index --db "$dir/index.db" "$j"
	;;
keyupdate)
	# 8 connections at KeyUpdate generation 65536: a million HKDFs and 200 MB of key log if
	# followed from generation 0.
	"$HOSTILE" keyupdate "$j" 8 65536
	bounded 60 10 "$j" -o /dev/null --keylog "$dir/keys"
	[ "$(wc -l <"$dir/keys")" -eq 40 ] || fail "$(wc -l <"$dir/keys") key log lines, not 40"
	grep -q "16 application traffic secrets are not 64 key updates or fewer" "$dir/err" ||
		fail "no word of the generations not followed: $(cat "$dir/err")"
	;;
conns)
	# 300,000 TCP connections of 4 packets each: 250 MiB (under ASan) if all are held at once.
	"$HOSTILE" conns "$j" 300000
	bounded 160 240 "$j" -o /dev/null
	bounded 160 240 index --db "$dir/index.db" "$j"
	# None lost on the way through the store: every one indexed, with its 4 packets.
	rows=$("$TLSASM" conns --db "$dir/index.db" --csv "$j" | awk -F, '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$col["packets_out"] + $col["packets_in"] == 4 { n++ } END { print n + 0 }')
	[ "$rows" -eq 300000 ] || fail "$rows connections of 4 packets indexed, not 300000"
	bounded 160 240 --db "$dir/index.db" --port 443 "$j" -o /dev/null
	;;
secrets)
	# 200,000 SECRET records (5 key log lines each), 2,000 of them with a connection and a DSB:
	# 240 MiB converted, 160 MiB indexed, when every record and line is kept in memory.
	"$HOSTILE" secrets "$j" 200000 2000
	bounded 100 60 "$j" -o "$dir/out.pcapng"
	grep -q "2000 TLS connections in the packets, 2000 with secrets" "$dir/err" &&
		grep -q "secrets of 198000 TLS connections match no connection" "$dir/err" ||
		fail "not the connections and secrets there are: $(cat "$dir/err")"
	info=$(capinfos -c -D "$dir/out.pcapng") || fail "capinfos cannot read $dir/out.pcapng"
	grep -q "Number of decryption secrets in file: *2000\$" <<<"$info" ||
		fail "not 2000 DSBs: $info"
	bounded 100 60 "$j" --keylog "$dir/keys"
	lines=$(wc -l <"$dir/keys")
	[ "$lines" -eq 1000000 ] || fail "$lines key log lines, not 1000000"
	awk '{ print $2 }' "$dir/keys" | LC_ALL=C sort -c || fail "key log lines not by client random"
	bounded 100 60 index --db "$dir/index.db" "$j"
	rows=$(python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM secrets").fetchone()[0])' \
		"$dir/index.db")
	[ "$rows" -eq 200000 ] || fail "$rows secrets rows in the index, not 200000"
	# The key log's database was SQLite's temporary file in $TMPDIR, gone with it.
	[ -z "$(find "$dir" -name 'etilqs_*')" ] || fail "SQLite's temporary files are left in $dir"
	;;
chunks)
	# 300,000 chunks of one connection, an ACK each way in each: 54 MiB converting and 83 MiB
	# extracting (ASan) when the list of chunks is kept in memory.
	"$HOSTILE" chunks "$j" 300000
	bounded 44 60 "$j" -o "$dir/out.pcapng"
	in_order "$dir/out.pcapng" 600002
	# The index built on the way, every chunk selected.
	bounded 64 60 --db "$dir/index.db" --port 443 "$j" -o "$dir/sel.pcapng"
	in_order "$dir/sel.pcapng" 600002
	;;
libraries)
	# 200,000 LIBRARY records: 146 MiB (ASan) if all are kept.
	"$HOSTILE" libraries "$j" 200000
	bounded 64 60 "$j" -o /dev/null
	grep -q "198976 LIBRARY records past the first 1024 libraries are dropped" "$dir/err" ||
		fail "no word of the LIBRARY records dropped: $(cat "$dir/err")"
	bounded 64 60 index --db "$dir/index.db" "$j"
	# A path is cut where tlsrec cuts it (PATH_MAX - 1 bytes).
	"$HOSTILE" libraries "$j" 1 5000
	bounded 64 60 -v "$j" --keylog "$dir/keys"
	path=$(sed -n 's/.* secret records from \(\/[^ ]*\) (.*/\1/p' "$dir/err")
	[ "${#path}" -eq 4095 ] || fail "a library path of ${#path} bytes, not 4095: $(cat "$dir/err")"
	;;
seqwrap)
	"$HOSTILE" seqwrap "$j" 4
	bounded 60 10 "$j" -o /dev/null
	! grep -q "missing" "$dir/err" || fail "chunks said missing: $(cat "$dir/err")"
	;;
recordings)
	# 100,000 recordings of a head chunk each: 197 MiB (ASan) if all are kept.
	"$HOSTILE" recordings "$j" 100000
	bounded 96 60 "$j" -o "$dir/out.pcapng"
	grep -q "83616 chunks of recordings past the first 16384 are skipped" "$dir/err" ||
		fail "no word of the recordings skipped: $(cat "$dir/err")"
	bounded 96 120 index --db "$dir/index.db" "$j"
	;;
losses)
	# 3 million LOSS records that no packet passes: 107 MiB (ASan) if all are held; the
	# interface's statistics still count every packet lost.
	"$HOSTILE" losses "$j" 3000000
	bounded 80 60 "$j" -o "$dir/out.pcapng"
	drops=$(python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
i = 0
while i < len(d):
    t, n = struct.unpack_from("<II", d, i)
    j = i + 20
    while t == 5 and j < i + n - 4:
        code, ln = struct.unpack_from("<HH", d, j)
        if code == 0:
            break
        if code == 5:
            print(struct.unpack_from("<Q", d, j + 4)[0])
        j += 4 + (ln + 3) // 4 * 4
    i += n' "$dir/out.pcapng")
	[ "$drops" = 3000000 ] || fail "the interface statistics count $drops packets lost, not 3000000"
	;;
*)
	fail "no such kind"
	;;
esac
