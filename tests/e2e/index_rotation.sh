#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Owners across rotated files: a client connects while tlsrec writes the first file (its SOCKET
# record is there), bulk traffic rotates to later files (-C 1), then the client talks again. The
# last file converted alone names no process for those packets; with the index of all the files
# (--db), tlsasm takes the owners from it and every TCP packet of the last file names its process.
. "$(dirname "$0")/lib.sh"
e2e_init
need python3 tshark

make_netns rotation
ns=$NETNS
d=$E2E_DIR
start "$ns" "$d/server.log" python3 -u -c '
import socket, threading
def drain(c):
    while c.recv(65536):
        pass
    c.close()
s = socket.socket()
s.bind(("127.0.0.1", 7000))
s.listen()
while True:
    threading.Thread(target=drain, args=(s.accept()[0],), daemon=True).start()
'
server=$STARTED
wait_port "$ns" 7000
start "$ns" "$d/tlsrec.log" "$TLSREC" -i lo -C 1 -w "$d/j.lz4"
REC=$STARTED
wait_for "$d/tlsrec.log" "recording on lo"

mkfifo "$d/talk.in"
exec 7<>"$d/talk.in"
ip netns exec "$ns" python3 -u -c '
import socket, sys
c = socket.create_connection(("127.0.0.1", 7000))
print("connected", c.getsockname()[1], flush=True)
c.sendall(b"hello\n")
sys.stdin.readline()
for i in range(20):
    c.sendall(b"late %d\n" % i)
c.close()
' <&7 >"$d/talk.log" 2>&1 &
talk=$!
E2E_PIDS+=("$talk")
wait_for "$d/talk.log" connected
sleep 1.2 # past a flush: the CONNECT record is in the first file
# About 4 MB that does not compress, from another process: the journal rotates.
ip netns exec "$ns" python3 -c '
import os, socket
c = socket.create_connection(("127.0.0.1", 7000))
for _ in range(64):
    c.sendall(os.urandom(65536))
c.close()
' || fail "the bulk sender failed"
sleep 1.2
echo go >&7
wait "$talk" || fail "the client failed: $(cat "$d/talk.log")"
sleep 0.3
stop "$REC" || fail "tlsrec exited with status $?"
port=$(awk '/^connected/ { print $2 }' "$d/talk.log")

files=("$d"/j.lz4*)
[ "${#files[@]}" -ge 3 ] || fail "expected at least 3 files, got: ${files[*]}"
last=$d/j.lz4$((${#files[@]} - 1))
[ -e "$last" ] || fail "no file $last: ${files[*]}"

# comments PCAPNG: "comment" of every packet from the client's port.
comments() {
	tshark -r "$1" -Y "tcp.srcport == $port" -T fields -e frame.comment 2>/dev/null | sort | uniq -c
}
"$TLSASM" "$last" -o "$d/alone.pcapng" 2>"$d/alone.log" || fail "tlsasm failed on $last alone"
alone=$(comments "$d/alone.pcapng")
[ -n "$alone" ] || fail "the last file holds no packet of the client: move the bulk sender later"
grep -q "pid=$talk " <<<"$alone" && fail "the last file alone already names the client: the test proves nothing"

"$TLSASM" index --db "$d/all.db" "${files[@]}" 2>"$d/index.log" || fail "tlsasm index failed: $(cat "$d/index.log")"
"$TLSASM" --db "$d/all.db" "$last" -o "$d/indexed.pcapng" 2>"$d/indexed.log" ||
	fail "tlsasm --db failed: $(cat "$d/indexed.log")"
indexed=$(comments "$d/indexed.pcapng")
[ "$(wc -l <<<"$indexed")" = 1 ] && grep -q "pid=$talk tid=$talk comm=python3 uid=0$" <<<"$indexed" ||
	fail "with the index, the client's packets in $last are not all the client's: $indexed"
note "ok: $(awk '{ s += $1 } END { print s }' <<<"$indexed") packets of $last named with the index, none without"
