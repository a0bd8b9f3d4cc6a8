#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Whose secrets tlsrec records: -p PID, -u UID and --cgroup PATH. For each, two python3 clients
# make one TLS connection each to the same server, one in scope and one not: the journal must hold
# the secrets of the first exactly, none of the second, and tlsasm must name the connection left
# without secrets.
. "$(dirname "$0")/lib.sh"
e2e_init
need openssl python3 tshark setpriv

make_netns scope
ns=$NETNS
d=$E2E_DIR
make_cert "$d"
make_cgroup
uid=4242
# The unprivileged client reads the script and writes its key log here.
chmod 711 "$d"
HTTPS_GET=$d/https_get.py
cp "$(dirname "$0")/https_get.py" "$HTTPS_GET"
chmod 644 "$HTTPS_GET"

start "$ns" "$d/www.log" openssl s_server -accept 4433 -cert "$d/cert.pem" -key "$d/key.pem" -www -quiet
wait_port "$ns" 4433

# check_scope NAME TLSREC-OPTION...: record the clients in and out (started, waiting) and check.
check_scope() {
	local name=$1
	shift
	start "$ns" "$d/$name.log" "$TLSREC" -i lo "$@" -w "$d/$name.lz4"
	local rec=$STARTED
	wait_for "$d/$name.log" "recording on lo "
	release_get in
	release_get out
	sleep 0.3
	stop "$rec" || fail "$name: tlsrec exited with status $?: $(cat "$d/$name.log")"
	"$TLSASM" "$d/$name.lz4" -o "$d/$name.pcapng" --keylog "$d/$name.keys" 2>"$d/$name.asm" ||
		fail "$name: tlsasm exited with status $?: $(cat "$d/$name.asm")"
	same_keylog "$d/in.keys" "$d/$name.keys"
	grep -q "2 TLS connections in the packets, 1 with secrets" "$d/$name.asm" ||
		fail "$name: tlsasm did not see 2 connections, 1 with secrets: $(cat "$d/$name.asm")"
	grep -q "no secrets for .*:4433" "$d/$name.asm" ||
		fail "$name: tlsasm did not name the connection without secrets: $(cat "$d/$name.asm")"
	http_seen "$d/$name.pcapng" | grep -qx "/in-$name" ||
		fail "$name: tshark does not decrypt the in-scope request"
	http_seen "$d/$name.pcapng" | grep -qx "/out-$name" &&
		fail "$name: tshark decrypts the out-of-scope request"
	rm -f "$d/in.keys" "$d/out.keys" "$d/in.fifo" "$d/out.fifo"
	note "$name: ok"
}

# -p: the process itself.
start_get "$ns" in --keylog "$d/in.keys" --tls 1.3 127.0.0.1 4433 /in-pid
start_get "$ns" out --keylog "$d/out.keys" --tls 1.3 127.0.0.1 4433 /out-pid
check_scope pid -p "$in"

# -u: a user.
touch "$d/in.keys" && chown "$uid" "$d/in.keys"
start_get "$ns" in setpriv --reuid=$uid --regid=$uid --clear-groups env PATH=/usr/bin:/bin -- \
	--keylog "$d/in.keys" --tls 1.2 127.0.0.1 4433 /in-uid
start_get "$ns" out --keylog "$d/out.keys" --tls 1.2 127.0.0.1 4433 /out-uid
check_scope uid -u $uid

# --cgroup: a cgroup and those below it.
mkdir "$CGROUP/child"
start_get "$ns" in bash -c 'echo $$ >"$0/child/cgroup.procs" && exec "$@"' "$CGROUP" -- \
	--keylog "$d/in.keys" --tls 1.3 127.0.0.1 4433 /in-cgroup
start_get "$ns" out --keylog "$d/out.keys" --tls 1.3 127.0.0.1 4433 /out-cgroup
check_scope cgroup --cgroup "$CGROUP"
rmdir "$CGROUP/child"
