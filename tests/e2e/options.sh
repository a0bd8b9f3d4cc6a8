#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Bad options, wrong files and missing privileges: one clear line on stderr, the documented exit
# status, no crash and no file created where none should be.
. "$(dirname "$0")/lib.sh"
e2e_init
need setpriv lz4

d=$E2E_DIR
make_netns opt
ns=$NETNS

# expect STATUS PATTERN CMD...: CMD exits with STATUS and prints exactly one line on stderr,
# which matches PATTERN.
expect() {
	local want=$1 pattern=$2 rc=0
	shift 2
	"$@" >"$d/out" 2>"$d/err" </dev/null || rc=$?
	[ "$rc" = "$want" ] || fail "'$*' exited with $rc, not $want: $(cat "$d/err")"
	[ "$(wc -l <"$d/err")" = 1 ] || fail "'$*' printed $(wc -l <"$d/err") lines: $(cat "$d/err")"
	grep -q -- "$pattern" "$d/err" || fail "'$*' said '$(cat "$d/err")', not '$pattern'"
}

in_ns() {
	ip netns exec "$ns" "$@"
}

expect 2 "^tlsrec: no journal to write: give -w FILE" in_ns "$TLSREC"
expect 2 "^tlsrec: nosuch0: no such interface" in_ns "$TLSREC" -i nosuch0 -w "$d/j"
expect 2 "^tlsrec: invalid snapshot length '300000': must be between 0 and 262144" in_ns "$TLSREC" -s 300000 -w "$d/j"
expect 2 "^tlsrec: invalid snapshot length 'abc': not a number" in_ns "$TLSREC" -s abc -w "$d/j"
expect 2 "^tlsrec: invalid packet count '0'" in_ns "$TLSREC" -c 0 -w "$d/j"
expect 2 "^tlsrec: invalid buffer size '1'" in_ns "$TLSREC" -B 1 -w "$d/j"
expect 2 "^tlsrec: -W needs -C" in_ns "$TLSREC" -W 3 -w "$d/j"
expect 2 "^tlsrec: invalid direction 'sideways'" in_ns "$TLSREC" -Q sideways -w "$d/j"
expect 2 "^tlsrec: invalid flush interval '0'" in_ns "$TLSREC" --flush-interval 0 -w "$d/j"
expect 2 "^tlsrec: unknown option '--bogus'" in_ns "$TLSREC" --bogus -w "$d/j"
expect 2 "^tlsrec: unknown option '-z'" in_ns "$TLSREC" -z -w "$d/j"
expect 2 "^tlsrec: option '-w' needs an argument" in_ns "$TLSREC" -w
# The filter expression: libpcap's message, before anything is loaded or created.
expect 2 "^tlsrec: bad filter expression: can't parse filter expression: syntax error" \
	in_ns "$TLSREC" -w "$d/j" tcp port
expect 2 "^tlsrec: bad filter expression: illegal port number 70000 > 65535" \
	in_ns "$TLSREC" -w "$d/j" port 70000
expect 2 "^tlsrec: bad filter expression: libpcap compiles it into what tlsrec cannot run in the kernel: " \
	in_ns "$TLSREC" -w "$d/j" inbound
expect 2 "^tlsrec: a filter expression selects packets: it does not go with --secrets-only" \
	in_ns "$TLSREC" --secrets-only -w "$d/j" tcp port 443
# One that does not apply to the link type of an interface named with -i (raw IP on a tun).
ip -n "$ns" tuntap add mode tun name tun0
ip -n "$ns" link set tun0 up
expect 2 "^tlsrec: bad filter expression for tun0: ethernet addresses supported only on ethernet" \
	in_ns "$TLSREC" -i tun0 -w "$d/j" ether host 02:00:00:00:00:01
expect 2 "^tlsrec: cannot create $d/no/such/dir/j.lz4: No such file or directory" \
	in_ns "$TLSREC" -w "$d/no/such/dir/j.lz4"
expect 2 "^tlsrec: cannot create $d: Is a directory" in_ns "$TLSREC" -w "$d"
# Whose secrets, and which libraries.
expect 2 "^tlsrec: -p 999999999: no such process" in_ns "$TLSREC" -p 999999999 -w "$d/j"
expect 2 "^tlsrec: invalid process id 'abc': not a number" in_ns "$TLSREC" -p abc -w "$d/j"
expect 2 "^tlsrec: -u nosuchuser: no such user" in_ns "$TLSREC" -u nosuchuser -w "$d/j"
expect 2 "^tlsrec: invalid user id '12x': not a number" in_ns "$TLSREC" -u 12x -w "$d/j"
expect 2 "^tlsrec: --cgroup /tmp: not a cgroup v2 directory" in_ns "$TLSREC" --cgroup /tmp -w "$d/j"
expect 2 "^tlsrec: --cgroup $d/none: No such file or directory" \
	in_ns "$TLSREC" --cgroup "$d/none" -w "$d/j"
expect 2 "^tlsrec: --libssl $d/none: No such file or directory" \
	in_ns "$TLSREC" --libssl "$d/none" -w "$d/j"
expect 2 "^tlsrec: --libssl /etc/passwd: cannot load it: .*invalid ELF header" \
	in_ns "$TLSREC" --libssl /etc/passwd -w "$d/j"
expect 2 "^tlsrec: -c counts packets: it does not go with --secrets-only" \
	in_ns "$TLSREC" --secrets-only -c 5 -w "$d/j"
expect 2 "^tlsrec: -i records packets: it does not go with --secrets-only" \
	in_ns "$TLSREC" --secrets-only -i lo -w "$d/j"
expect 2 "^tlsrec: --no-secrets and --secrets-only leave nothing to record" \
	in_ns "$TLSREC" --no-secrets --secrets-only -w "$d/j"
expect 2 "^tlsrec: -p, -u and --cgroup scope TLS secrets: not with --no-secrets" \
	in_ns "$TLSREC" --no-secrets -p $$ -w "$d/j"
expect 2 "^tlsrec: -p, -u and --cgroup scope TLS secrets: not with --no-secrets" \
	in_ns "$TLSREC" -u root --no-secrets -w "$d/j"
expect 2 "^tlsrec: -p, -u and --cgroup scope TLS secrets: not with --no-secrets" \
	in_ns "$TLSREC" --no-secrets --cgroup /sys/fs/cgroup -w "$d/j"
expect 2 "^tlsrec: --libssl hooks a library for TLS secrets: not with --no-secrets" \
	in_ns "$TLSREC" --no-secrets --libssl /usr/lib/x86_64-linux-gnu/libssl.so.3 -w "$d/j"
expect 2 "^tlsrec: --go-program hooks a Go program for TLS secrets: not with --no-secrets" \
	in_ns "$TLSREC" --no-secrets --go-program /bin/sh -w "$d/j"
expect 2 "^tlsrec: --go-program $d/none: No such file or directory" \
	in_ns "$TLSREC" --go-program "$d/none" -w "$d/j"
expect 2 "^tlsrec: --list-targets lists libraries to hook: not with --no-secrets" \
	in_ns "$TLSREC" --list-targets --no-secrets
[ ! -e "$d/j" ] || fail "a usage error created the journal"
# A usage error must not leave a filter behind either.
no_tc_leftovers "$ns" lo

# Without CAP_BPF and CAP_NET_ADMIN: one error, exit 1, and no journal created.
expect 1 "^tlsrec: need root" in_ns setpriv --reuid=65534 --regid=65534 --clear-groups \
	--inh-caps=-all --bounding-set=-all "$TLSREC" -i lo -w /tmp/tlsrec-should-not-exist-$$
[ ! -e /tmp/tlsrec-should-not-exist-$$ ] || fail "an unprivileged run created its journal"

# -D lists lo, and needs no privileges.
in_ns setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$TLSREC" -D |
	grep -q "^1\.lo \[Up, Loopback\] Ethernet$" || fail "-D does not list lo"

# --help reads like a man page, and every option it lists is in the man page.
for prog in tlsrec tlsasm; do
	bin=$TLSREC
	man=$(dirname "$0")/../../docs/tlsrec.8
	if [ $prog = tlsasm ]; then
		bin=$TLSASM
		man=$(dirname "$0")/../../docs/tlsasm.1
	fi
	"$bin" --help >"$d/help" || fail "$prog --help failed"
	for section in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
		grep -q "^$section$" "$d/help" || fail "$prog --help has no $section section"
	done
	for opt in $(grep -o -- '--[a-z-]*' "$d/help" | sort -u); do
		grep -q -- "${opt//-/\\\\-}" "$man" || fail "$prog: $opt is in --help but not in $man"
	done
	has "^$prog [0-9]" "$bin" --version || fail "$prog --version"
done

# tlsasm: usage errors exit 2, unreadable or wrong input exits 1, one line each.
printf 'not a journal at all, just text\n' >"$d/text"
: >"$d/empty"
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00' >"$d/x.pcap"
printf 'hello' | lz4 -q >"$d/x.lz4"
expect 2 "^tlsasm: no journal to read" "$TLSASM" -o "$d/o"
expect 2 "^tlsasm: no output: give -o FILE" "$TLSASM" "$d/text"
expect 2 "^tlsasm: unknown option '--frobnicate'" "$TLSASM" --frobnicate "$d/text"
expect 1 "^tlsasm: $d/missing: No such file or directory" "$TLSASM" "$d/missing" -o "$d/o"
expect 1 "^tlsasm: $d/text: not a tlsrec journal" "$TLSASM" "$d/text" -o "$d/o"
expect 1 "^tlsasm: $d/x.pcap: a pcap file, not a tlsrec journal" "$TLSASM" "$d/x.pcap" -o "$d/o"
expect 1 "^tlsasm: $d/x.lz4: an LZ4 file, but not a tlsrec journal" "$TLSASM" "$d/x.lz4" -o "$d/o"
expect 1 "^tlsasm: $d: a directory, not a tlsrec journal" "$TLSASM" "$d" -o "$d/o"
[ ! -e "$d/o" ] || fail "tlsasm created its output although the input was bad"
expect 2 "^tlsasm: $d/text: refusing to write over an input journal" "$TLSASM" "$d/text" -o "$d/text"
expect 2 "^tlsasm: $d/text: refusing to write over an input journal" "$TLSASM" "$d/text" --keylog "$d/text"
touch "$d/text.db"
expect 2 "^tlsasm: $d/text.db: refusing to write over an input journal or the index" \
	"$TLSASM" "$d/text" -o "$d/text.db"
rm "$d/text.db"
# An index someone else could have written is not used, nor one behind a symbolic link.
touch "$d/pub.db"
chmod 666 "$d/pub.db"
expect 1 "^tlsasm: $d/pub.db: writable by others: not used as an index" \
	"$TLSASM" index --db "$d/pub.db" "$d/text"
ln -s "$d/elsewhere.db" "$d/link.db"
expect 1 "^tlsasm: $d/link.db: not a regular file: not used as an index" \
	"$TLSASM" --pid 1 --db "$d/link.db" "$d/text" -o "$d/o"
[ ! -e "$d/elsewhere.db" ] || fail "tlsasm created an index through a symbolic link"
expect 2 "^tlsasm: -o and --keylog both name $d/o" "$TLSASM" "$d/text" -o "$d/o" --keylog "$d/o"
expect 2 "^tlsasm: option '--keylog' needs an argument" "$TLSASM" "$d/text" --keylog
expect 2 "^tlsasm: bad filter expression: can't parse filter expression: syntax error" \
	"$TLSASM" "$d/text" -o "$d/o" tcp port
expect 2 "^tlsasm: bad filter expression: illegal port number 70000 > 65535" \
	"$TLSASM" "$d/text" -o "$d/o" port 70000
expect 2 "^tlsasm: a filter expression (tcp) needs -o" "$TLSASM" "$d/text" --keylog "$d/k" tcp
expect 2 "^tlsasm: --pid nobody: not a number" "$TLSASM" --pid nobody "$d/text" -o "$d/o"
expect 2 "^tlsasm: --since yesterday: not a time (2026-11-26T10:00:00Z, or seconds since the epoch)" "$TLSASM" --since yesterday "$d/text" -o "$d/o"

# An empty file is a journal cut before its first chunk (a crash right after rotation): damage,
# exit status 3, and the other journals are still read.
rc=0
"$TLSASM" "$d/empty" -o "$d/o" 2>"$d/err" || rc=$?
[ "$rc" = 3 ] || fail "an empty journal gave status $rc, not 3: $(cat "$d/err")"
grep -q "^tlsasm: $d/empty: damaged region at offset 0 (0 bytes): empty file" "$d/err" ||
	fail "an empty journal: $(cat "$d/err")"
note ok
