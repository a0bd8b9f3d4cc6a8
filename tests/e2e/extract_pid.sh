#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Filtered extraction: openssl s_server -www and two clients with known pids, python3 (started
# before tlsrec) and curl. tlsasm --pid of each client must give exactly that client's
# connections, decrypted by tshark with no key file, and its key log must equal the client's own;
# every packet must name its process in frame.comment: the client's for what the client sent, the
# server's for what the server sent. --comm, the trailing tcpdump expression, and byte-identical
# output for the same input are checked too.
. "$(dirname "$0")/lib.sh"
e2e_init
need openssl curl python3 tshark

make_netns extract
ns=$NETNS
d=$E2E_DIR
make_cert "$d"
make_cgroup

start_cg "$ns" "$d/www.log" openssl s_server -accept 4433 -cert "$d/cert.pem" -key "$d/key.pem" -www -quiet
server=$STARTED
wait_port "$ns" 4433
start_get "$ns" py bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CGROUP" -- \
	--keylog "$d/py.keys" --tls 1.3 127.0.0.1 4433 /py-1 /py-2
record_tls "$ns"

in_cg "$ns" bash -c 'echo $$ >"$0"; exec curl -sk -o /dev/null -o /dev/null "$@"' "$d/curl.pid" \
	https://127.0.0.1:4433/curl-1 https://127.0.0.1:4433/curl-2 ||
	fail "curl failed"
curl=$(cat "$d/curl.pid")
release_get py
[ "$(grep -c " 200$" "$d/py.out")" = 2 ] || fail "python3 did not get 2 responses: $(cat "$d/py.out")"
sleep 0.5
stop "$REC" || fail "tlsrec exited with status $?"

# extract NAME TLSASM-ARGS... [-- EXPRESSION]: tlsasm ARGS journal.lz4 -o NAME.pcapng
# --keylog NAME.got EXPRESSION.
extract() {
	local name=$1 args=() expr=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
	[ $# -gt 0 ] && { shift; expr=("$@"); }
	"$TLSASM" "${args[@]}" "$d/journal.lz4" -o "$d/$name.pcapng" --keylog "$d/$name.got" "${expr[@]}" \
		2>"$d/$name.log" || fail "tlsasm ${args[*]} exited with status $?: $(cat "$d/$name.log")"
}

# only_uris PCAPNG URI...: tshark decrypts exactly these requests, each answered with a 200.
only_uris() {
	local f=$1 got want
	shift
	got=$(http_seen "$f" | grep -v '^200$')
	want=$(printf '%s\n' "$@" | sort)
	[ "$got" = "$want" ] || fail "$f: tshark shows requests [$(echo $got)], not [$(echo $want)]"
	[ "$(http_seen "$f" | grep -cx 200)" = $# ] || fail "$f: not $# responses with code 200"
}

# owned PCAPNG CLIENT_PID CLIENT_COMM: every frame has a comment; the client's pid and comm on
# what it sent, the server's on what the server sent, epb_processid_threadid left aside (tshark
# 4.0 does not show it).
owned() {
	tshark -r "$1" -T fields -E separator='|' -e frame.number -e tcp.srcport -e frame.comment \
		2>/dev/null >"$1.owners"
	[ -s "$1.owners" ] || fail "$1: no packets"
	awk -F'|' -v c="pid=$2 " -v cc="comm=$3 " -v s="pid=$server " '
		$2 == 4433 { if (index($3, s) != 1 || index($3, "comm=openssl ") == 0) { print; bad = 1 } next }
		{ if (index($3, c) != 1 || index($3, cc) == 0) { print; bad = 1 } }
		END { exit bad }' "$1.owners" >"$1.wrong" ||
		fail "$1: packets with the wrong process: $(head -5 "$1.wrong")"
}

extract py --pid "$py"
only_uris "$d/py.pcapng" /py-1 /py-2
owned "$d/py.pcapng" "$py" python3
same_keylog "$d/py.keys" "$d/py.got"

extract curl --pid "$curl"
only_uris "$d/curl.pcapng" /curl-1 /curl-2
owned "$d/curl.pcapng" "$curl" curl
# curl wrote no key log here: its lines are the server's for curl's client randoms, and none of
# python3's.
grep -qf <(awk '{ print $2 }' "$d/py.keys" | sort -u) "$d/curl.got" && fail "curl's key log has python3's secrets"
[ "$(awk '{ print $2 }' "$d/curl.got" | sort -u | wc -l)" = 2 ] ||
	fail "curl's key log is not for 2 connections: $(cat "$d/curl.got")"

# The server owns an end of every connection: all four, both clients' requests.
extract server --comm openssl
only_uris "$d/server.pcapng" /py-1 /py-2 /curl-1 /curl-2

# Conditions AND together: python3's pid and curl's name select nothing.
extract none --pid "$py" --comm curl
[ "$(tshark -r "$d/none.pcapng" 2>/dev/null | wc -l)" = 0 ] || fail "--pid $py --comm curl selected packets"
grep -q "no connection matches" "$d/none.log" || fail "tlsasm did not say that nothing matched"

# The trailing expression applies to each packet of the selection: python3's SYNs and SYN-ACKs.
extract syn --pid "$py" -- 'tcp[tcpflags] & tcp-syn != 0'
n=$(tshark -r "$d/syn.pcapng" 2>/dev/null | wc -l)
conns=$(tshark -r "$d/py.pcapng" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' 2>/dev/null | wc -l)
[ "$conns" -ge 1 ] && [ "$n" = $((2 * conns)) ] || fail "expression: $n packets, not 2 x $conns"

# Forensic replay: the same input and options give the same bytes, index built or not.
cp "$d/py.pcapng" "$d/py.first"
rm -f "$d/journal.lz4.db"*
extract py --pid "$py"
cmp "$d/py.first" "$d/py.pcapng" || fail "a second extraction differs from the first"
# A copy of the journal among the inputs: chunks are known by what they are, not where.
mkdir "$d/copy"
cp "$d/journal.lz4" "$d/copy/"
"$TLSASM" --pid "$py" "$d/journal.lz4" "$d/copy/journal.lz4" -o "$d/py.copy.pcapng" 2>"$d/copy.log" ||
	fail "tlsasm with a copy of the journal failed: $(cat "$d/copy.log")"
cmp "$d/py.first" "$d/py.copy.pcapng" || fail "a copy of the journal among the inputs changes the extraction"

# The whole journal: every TCP packet names its process too.
extract all
tshark -r "$d/all.pcapng" -Y tcp -T fields -e frame.comment 2>/dev/null | grep -c '^$' >"$d/bare" || true
[ "$(cat "$d/bare")" = 0 ] || fail "$(cat "$d/bare") TCP packets without a process in the whole journal"
note "ok: python3 ($py) and curl ($curl) extracted alone and decrypted; server ($server) named on its packets"
