#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Who owns each socket: a TCP server and a client that are running when tlsrec starts (seeded from
# /proc), and a client started later (as nobody) that connects, talks and exits. The journal must
# name, for each end of each connection, the right process (pid, comm, uid), with the addresses
# and network namespace, and the cookies its packets carry; PROCESS records must tell the late
# client's exec (exe, cmdline) and exit, and the early client as seeded.
. "$(dirname "$0")/lib.sh"
e2e_init
need setpriv
[ -x "${JRECORDS:-}" ] || fail "JRECORDS is not set to the jrecords test tool"
PY=/usr/bin/python3
[ -x "$PY" ] || fail "needs $PY"

make_netns attrib
ns=$NETNS
d=$E2E_DIR
port=4480

# The server: answers each line with a greeting, one thread per connection, until the test ends.
start "$ns" "$d/server.log" "$PY" -u -c '
import socket, sys, threading
def serve(c):
    f = c.makefile("rwb")
    for line in f:
        f.write(b"server says hi\n"); f.flush()
    c.close()
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
while True:
    threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
' "$port"
server=$STARTED
wait_port "$ns" "$port"

# client MARKER: connect, say so, wait for a line on stdin, send it, read the answer, exit 0.
client='
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print("connected", c.getsockname()[1], flush=True)
c.sendall(sys.stdin.readline().encode())
assert c.makefile("rb").readline() == b"server says hi\n"
'
mkfifo "$d/early.in"
exec 7<>"$d/early.in"
ip netns exec "$ns" "$PY" -u -c "$client" "$port" early-client-marker <&7 >"$d/early.log" 2>&1 &
early=$!
E2E_PIDS+=("$early")
wait_for "$d/early.log" connected

start "$ns" "$d/tlsrec.log" "$TLSREC" -i lo -w "$d/journal.lz4"
REC=$STARTED
wait_for "$d/tlsrec.log" "recording on lo "

# The late client: exec'd after tlsrec started, as nobody, and gone before it stops.
echo late | ip netns exec "$ns" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$PY" -u -c "$client" "$port" late-client-marker >"$d/late.log" 2>&1 &
late=$!
wait "$late" || fail "the late client failed: $(cat "$d/late.log")"
echo early >&7
wait "$early" || fail "the early client failed: $(cat "$d/early.log")"
sleep 0.3
stop "$REC" || fail "tlsrec exited with status $?: $(cat "$d/tlsrec.log")"
grep -q "records lost" "$d/tlsrec.log" && fail "tlsrec lost records: $(cat "$d/tlsrec.log")"

"$JRECORDS" "$d/journal.lz4" >"$d/records.txt" || fail "jrecords cannot read the journal"
# On this kernel every part records: the HEADER says the journal lacks nothing.
grep -qx 'HEADER format=1\.[0-9]*' "$d/records.txt" ||
	fail "the journal lacks a part: $(grep '^HEADER' "$d/records.txt")"
grep -q "not recording\|without TLS secrets" "$d/tlsrec.log" &&
	fail "tlsrec leaves a part out on this kernel: $(cat "$d/tlsrec.log")"
netns=$(stat -L -c %i "/proc/$server/ns/net")
late_port=$(awk '/^connected/ { print $2 }' "$d/late.log")
early_port=$(awk '/^connected/ { print $2 }' "$d/early.log")
[ -n "$late_port" ] && [ -n "$early_port" ] || fail "the clients did not say their ports"
lo=127.0.0.1

# one PATTERN WHAT: the single line of records.txt that matches PATTERN (an extended regex). On
# failure, the records of the test's processes are shown.
one() {
	local n
	n=$(grep -cE -- "$1" "$d/records.txt" || true)
	if [ "$n" != 1 ]; then
		grep -E "^(SOCKET|PROCESS) .* pid=($late|$early|$server) " "$d/records.txt" >&2 || true
		fail "$2: $n records match '$1', not 1"
	fi
	grep -E -- "$1" "$d/records.txt"
}

# field LINE NAME: the value of NAME= in LINE.
field() {
	sed -E "s/.* $2=([^ ]*).*/\1/" <<<"$1"
}

# cookie_of SRC DST: the one cookie of the packets from SRC to DST (host:port); none is a failure.
cookie_of() {
	local c
	c=$(awk -v s="src=$1" -v t="dst=$2" '$1 == "PACKET" && $6 == s && $7 == t { print $2 }' \
		"$d/records.txt" | sort -u)
	[ -n "$c" ] || fail "no packet from $1 to $2"
	[ "$(wc -l <<<"$c")" = 1 ] || fail "the packets from $1 to $2 carry several cookies: $c"
	echo "${c#cookie=}"
}

owner="tid=[0-9]+ uid=0 gid=0 comm=python3 cgroup=[0-9]+ netns=$netns"

# The late client's connection: CONNECT from the client, ACCEPT in the server, each with the
# cookie its own packets carry.
conn=$(one "^SOCKET how=CONNECT pid=$late tid=$late uid=65534 gid=65534 comm=python3 cgroup=[0-9]+ netns=$netns cookie=[1-9][0-9]* proto=tcp family=4 local=$lo:$late_port remote=$lo:$port\$" \
	"the late client's CONNECT")
[ "$(field "$conn" cookie)" = "$(cookie_of "$lo:$late_port" "$lo:$port")" ] ||
	fail "the late client's CONNECT names another cookie than its packets carry"
one "^SOCKET how=CREATE pid=$late .* cookie=$(field "$conn" cookie) proto=tcp " \
	"the late client's CREATE" >/dev/null
acc=$(one "^SOCKET how=ACCEPT pid=$server $owner cookie=[1-9][0-9]* proto=tcp family=4 local=$lo:$port remote=$lo:$late_port\$" \
	"the server's ACCEPT of the late client")
[ "$(field "$acc" cookie)" = "$(cookie_of "$lo:$port" "$lo:$late_port")" ] ||
	fail "the server's ACCEPT names another cookie than its packets carry"

# The early connection and the listener, seeded: both ends, by addresses.
one "^SOCKET how=SEED pid=$early $owner cookie=0 proto=tcp family=4 local=$lo:$early_port remote=$lo:$port\$" \
	"the early client's SEED" >/dev/null
one "^SOCKET how=SEED pid=$server $owner cookie=0 proto=tcp family=4 local=$lo:$port remote=$lo:$early_port\$" \
	"the server's SEED of the early connection" >/dev/null
one "^SOCKET how=SEED pid=$server $owner cookie=0 proto=tcp family=4 local=$lo:$port remote=0.0.0.0:0\$" \
	"the listener's SEED" >/dev/null
cookie_of "$lo:$early_port" "$lo:$port" >/dev/null

# Processes: the late client's exec (after setpriv's) and exit, the early one seeded, the server.
exe=$(readlink -f "$PY")
exec_rec=$(one "^PROCESS how=EXEC pid=$late ppid=[0-9]+ uid=65534 gid=65534 start=[1-9][0-9]* comm=python3 exit=0 exe=$exe cmdline=$PY,-u,-c,.*,$port,late-client-marker\$" \
	"the late client's EXEC")
start=$(field "$exec_rec" start)
one "^PROCESS how=EXIT pid=$late ppid=[0-9]+ uid=65534 gid=65534 start=$start comm=python3 exit=0\$" \
	"the late client's EXIT" >/dev/null
early_rec=$(one "^PROCESS how=SEED pid=$early ppid=$$ uid=0 gid=0 start=[1-9][0-9]* comm=python3 exit=0 exe=$exe cmdline=$PY,-u,-c,.*,$port,early-client-marker\$" \
	"the early client's SEED")
one "^PROCESS how=EXIT pid=$early ppid=$$ uid=0 gid=0 start=$(field "$early_rec" start) comm=python3 exit=0\$" \
	"the early client's EXIT" >/dev/null
one "^PROCESS how=SEED pid=$server .* comm=python3 " "the server's SEED" >/dev/null
# Its start time, as the kernel has it (boottime, rounded down to 10 ms as /proc shows it).
ticks=$(awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$late/stat" 2>/dev/null || true)
[ -z "$ticks" ] || [ "$start" = "${ticks}0000000" ] || fail "start time $start, /proc says $ticks ticks"
sockets=$(grep -c '^SOCKET' "$d/records.txt")
processes=$(grep -c '^PROCESS' "$d/records.txt")

# --secrets-only: no packets to attribute, so no socket hooks and no SOCKET records; processes are
# still described (an exec here).
start "$ns" "$d/keys.log" "$TLSREC" --secrets-only -w "$d/keys.lz4"
REC=$STARTED
wait_for "$d/keys.log" "writing $d/keys.lz4"
echo again | ip netns exec "$ns" "$PY" -u -c "$client" "$port" keys-client-marker >"$d/keys-client.log" 2>&1 ||
	fail "the client failed: $(cat "$d/keys-client.log")"
sleep 0.3
stop "$REC" || fail "tlsrec --secrets-only exited with status $?: $(cat "$d/keys.log")"
"$JRECORDS" "$d/keys.lz4" >"$d/keys.txt" || fail "jrecords cannot read the --secrets-only journal"
grep -q '^SOCKET' "$d/keys.txt" && fail "tlsrec --secrets-only wrote SOCKET records: $(grep -m3 '^SOCKET' "$d/keys.txt")"
grep -qE "^PROCESS how=EXEC .*,keys-client-marker\$" "$d/keys.txt" ||
	fail "tlsrec --secrets-only did not describe the client's exec"
note "ok: $sockets SOCKET and $processes PROCESS records; none of the first with --secrets-only"
