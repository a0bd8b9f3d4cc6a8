#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tlsrec works whether tracefs and bpffs are mounted or not. ip netns exec gives each command a
# fresh /sys without them; the second run mounts both first (in that private mount namespace).
. "$(dirname "$0")/lib.sh"
e2e_init
need python3 mountpoint

make_netns mnt
ns=$NETNS
d=$E2E_DIR
send="$(dirname "$0")/udp_send.py"

run() {
	local name=$1 setup=$2
	start "$ns" "$d/$name.log" sh -c "$setup
		if mountpoint -q /sys/kernel/tracing; then echo tracefs mounted; else echo tracefs absent; fi
		if mountpoint -q /sys/fs/bpf; then echo bpffs mounted; else echo bpffs absent; fi
		exec \"$TLSREC\" -i lo -c 50 -w \"$d/$name.lz4\""
	wait_for "$d/$name.log" "recording on lo"
	ip netns exec "$ns" python3 "$send" 50 100 0
	local rc=0
	wait "$STARTED" || rc=$?
	[ "$rc" = 0 ] || fail "$name: tlsrec exited with $rc: $(cat "$d/$name.log")"
	grep -q "^50 packets recorded" "$d/$name.log" || fail "$name: $(cat "$d/$name.log")"
}

run unmounted ""
grep -q "tracefs absent" "$d/unmounted.log" && grep -q "bpffs absent" "$d/unmounted.log" ||
	fail "expected tracefs and bpffs to be absent: $(cat "$d/unmounted.log")"
run mounted "mount -t tracefs tracefs /sys/kernel/tracing && mount -t bpf bpf /sys/fs/bpf || exit 9"
grep -q "tracefs mounted" "$d/mounted.log" && grep -q "bpffs mounted" "$d/mounted.log" ||
	fail "expected tracefs and bpffs to be mounted: $(cat "$d/mounted.log")"
note ok
