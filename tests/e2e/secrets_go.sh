#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# TLS secrets from Go programs (crypto/tls, no OpenSSL on either end): tests/go/gotls.go built
# static, stripped (-s -w), PIE and with cgo (GOTLS_DIR). The server (PIE), and another in a
# chroot, are started before tlsrec; one in a pivot_root container and the clients after it, each
# found as its process starts. TLS 1.3 (AES-128-GCM between Go programs; AES-256-GCM and ChaCha20 from curl, which Go's client cannot be told to offer, curl
# outside the recorded cgroup so that only the Go server's secrets are there), TLS 1.2 with three
# suites, HTTP/1.1 and HTTP/2, a handshake per request and keep-alive. The truth is the programs'
# own KeyLogWriter files: tlsasm --keylog must hold exactly their lines, tshark must decrypt every
# request from the pcapng alone, tlsasm --pid of a client must give that client's connections; -p
# and -u keep out the secrets of the processes they do not name. Session resumption, TLS 1.3 and
# 1.2: Go logs nothing for a resumed TLS 1.2 handshake, whose line tlsasm derives from the session
# (the first connection's master secret with the second's client random is its truth). A
# client that sets no KeyLogWriter, talking to a Go server outside the recorded cgroup (whose key
# log is then the truth), must still have its secrets recorded. --go-program and --list-targets
# show a Go program with its version and hook, running or not.
. "$(dirname "$0")/lib.sh"
e2e_init
need tshark curl setpriv
[ -d "${GOTLS_DIR:-}" ] || fail "GOTLS_DIR is not set to tests/go's build directory"
for v in static stripped pie cgo; do
	[ -x "$GOTLS_DIR/gotls-$v" ] || fail "no $GOTLS_DIR/gotls-$v (built by go: bash .ci/deps)"
done

make_netns go
ns=$NETNS
d=$E2E_DIR
make_cgroup
truth=$d/truth.txt
url=https://127.0.0.1:8443
server_bin=$GOTLS_DIR/gotls-pie

# --list-targets and --go-program: a Go program no process runs, listed with its version and its
# hook; a file that is no Go program refused as the option's argument.
"$TLSREC" --list-targets -p $$ --go-program "$GOTLS_DIR/gotls-stripped" >"$d/list.txt" 2>&1 ||
	fail "tlsrec --list-targets --go-program failed: $(cat "$d/list.txt")"
grep -qE "^    Go program, go1\.[0-9.]+; hook at file offset 0x[0-9a-f]+ \(writeKeyLog\+(4|9|12)," "$d/list.txt" ||
	fail "--list-targets does not show the Go program's version and hook: $(cat "$d/list.txt")"
grep -qx "    run by no process now" "$d/list.txt" || fail "--list-targets names a process: $(cat "$d/list.txt")"
"$TLSREC" --list-targets -p $$ --go-program /bin/sh >"$d/notgo.txt" 2>&1 ||
	fail "tlsrec --list-targets --go-program /bin/sh failed: $(cat "$d/notgo.txt")"
grep -qx "    not hooked: not a Go program (no .go.buildinfo or .gopclntab section)" "$d/notgo.txt" ||
	fail "--list-targets does not say why /bin/sh is not hooked: $(cat "$d/notgo.txt")"
rc=0
"$TLSREC" --secrets-only --go-program /bin/sh -w "$d/notgo.lz4" >"$d/notgo.log" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "go-program /bin/sh: not a Go program" "$d/notgo.log" ||
	fail "tlsrec --go-program /bin/sh: status $rc: $(cat "$d/notgo.log")"

# The server, before tlsrec: found among the running processes.
start_cg "$ns" "$d/server.log" "$server_bin" serve -addr 127.0.0.1:8443 -keylog "$d/server.keys"
server=$STARTED
wait_port "$ns" 8443
# A second Go server outside the recorded cgroup: the truth for the client without a key log.
start "$ns" "$d/server2.log" "$GOTLS_DIR/gotls-static" serve -addr 127.0.0.1:8444 \
	-keylog "$d/server2.keys"
server2=$STARTED
wait_port "$ns" 8444
# A third Go server in a chroot (a copy of the static build, a file of its own), before tlsrec:
# found through /proc/PID/root, shown as its root sees it.
mkdir -p "$d/root/bin"
install -m 755 "$GOTLS_DIR/gotls-static" "$d/root/bin/gotls"
start_cg "$ns" "$d/chroot.log" chroot "$d/root" /bin/gotls serve -addr 127.0.0.1:8445 -keylog /keys
chrooted=$STARTED
wait_port "$ns" 8445
record_tls "$ns" -v --go-program "$GOTLS_DIR/gotls-stripped"
grep -qE "hooked $server_bin \(Go program, go1\.[0-9.]+\): writeKeyLog\+[0-9]+, file offset 0x" "$d/tlsrec.log" ||
	fail "tlsrec did not hook the running Go server: $(cat "$d/tlsrec.log")"
grep -q "hooked /proc/$chrooted/root/bin/gotls (Go program" "$d/tlsrec.log" ||
	fail "tlsrec did not hook the Go server in a chroot: $(cat "$d/tlsrec.log")"
grep -q "hooked $GOTLS_DIR/gotls-stripped (Go program" "$d/tlsrec.log" ||
	fail "tlsrec did not hook the program --go-program named: $(cat "$d/tlsrec.log")"
# A fourth Go server in a pivot_root container, started while tlsrec records: a mount namespace
# of its own whose root is another directory, the old root detached, so that its files exist only
# through /proc/PID/root.
mkdir -p "$d/croot/bin" "$d/croot/old"
install -m 755 "$GOTLS_DIR/gotls-static" "$d/croot/bin/gotls"
start_cg "$ns" "$d/pivot.log" unshare -m --propagation private sh -c 'mount --bind "$0" "$0" &&
	cd "$0" && pivot_root . old && exec /bin/gotls serve -addr 127.0.0.1:8446 -keylog /keys \
	-detach /old' "$d/croot"
pivoted=$STARTED
wait_port "$ns" 8446
wait_for "$d/tlsrec.log" "hooked /proc/$pivoted/root/bin/gotls (Go program"
[ -e "/proc/$pivoted/root/old/proc" ] && fail "the container's old root is still mounted"

# get NAME BUILD GOTLS_GET_OPTIONS...: the Go client NAME (its pid in NAME.pid, its key log in
# NAME.keys unless -nokeylog comes first) GETs /NAME-0, /NAME-1 from the server, once tlsrec has
# hooked its build: a program new to tlsrec is hooked as its process starts, a few milliseconds
# late for a handshake at once (--go-program is for those).
get() {
	local name=$1 build=$2
	local kl=(-keylog "$d/$name.keys")
	shift 2
	if [ "${1:-}" = -nokeylog ]; then
		kl=()
		shift
	fi
	in_cg "$ns" timeout 20 bash -c 'echo $$ >"$0"; exec "$@"' "$d/$name.pid" \
		"$GOTLS_DIR/gotls-$build" get "${kl[@]}" -wait "$d/$name.go" -n 2 "$@" \
		>"$d/$name.out" 2>&1 &
	local client=$!
	E2E_PIDS+=("$client")
	wait_for "$d/tlsrec.log" "hooked $GOTLS_DIR/gotls-$build (Go program"
	touch "$d/$name.go"
	wait "$client" || fail "the Go client $name failed: $(cat "$d/$name.out")"
	[ "$(grep -c "^hello /$name-" "$d/$name.out")" = 2 ] || fail "$name: no 2 responses: $(cat "$d/$name.out")"
}

get tls13-h1 static -url "$url/tls13-h1-" -v 13 -newconn
# Resumption: the second connection resumes the first's session (a ticket). TLS 1.3 logs the
# secrets of both; TLS 1.2 logs nothing for the resumed one (nor does its server).
get tls13-resume static -url "$url/tls13-resume-" -v 13 -newconn -resume
get tls12-resume pie -url "$url/tls12-resume-" -v 12 -newconn -resume
get tls13-h2 cgo -url "$url/tls13-h2-" -v 13 -h2
get tls12-aes128-h1 stripped -url "$url/tls12-aes128-h1-" -v 12 -newconn -cipher ECDHE-ECDSA-AES128-GCM-SHA256
get tls12-aes256-h2 pie -url "$url/tls12-aes256-h2-" -v 12 -h2 -cipher ECDHE-ECDSA-AES256-GCM-SHA384
get tls12-chacha20-h1 cgo -url "$url/tls12-chacha20-h1-" -v 12 -cipher ECDHE-ECDSA-CHACHA20-POLY1305
get chroot static -url "https://127.0.0.1:8445/chroot-" -v 13 -newconn
get pivot static -url "https://127.0.0.1:8446/pivot-" -v 13 -newconn
get nokeylog static -nokeylog -url "https://127.0.0.1:8444/nokeylog-" -v 13 -newconn
grep -q "over HTTP/2.0" "$d/tls13-h2.out" || fail "tls13-h2 did not speak HTTP/2"
grep -q "over HTTP/1.1" "$d/tls13-h1.out" || fail "tls13-h1 did not speak HTTP/1.1"
# TLS 1.3 with the suites Go's client does not pick, from curl outside the cgroup.
for suite in TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256; do
	for h in http1.1 http2; do
		name=curl-$suite-$h
		ip netns exec "$ns" timeout 20 curl -sk --tlsv1.3 --tls13-ciphers "$suite" "--$h" \
			"$url/$name" >"$d/$name.out" 2>&1 || fail "curl $name failed: $(cat "$d/$name.out")"
		grep -q "^hello /$name over HTTP/${h#http}" "$d/$name.out" ||
			fail "curl $name: $(cat "$d/$name.out")"
	done
done
sleep 0.5
stop "$REC" || fail "tlsrec exited with status $?"
grep -q "TLS secrets lost" "$d/tlsrec.log" && fail "tlsrec lost TLS secrets"
grep -q "hooked $GOTLS_DIR/gotls-static (Go program" "$d/tlsrec.log" ||
	fail "tlsrec did not hook the static build: $(cat "$d/tlsrec.log")"
# The cgo build, which no process ran before: found by its mapping, with how late the hook came
# after it (the mapping's own time).
grep -qE "hooked $GOTLS_DIR/gotls-cgo \(Go program, .*; [0-9]+\.[0-9] ms after a process mapped it$" \
	"$d/tlsrec.log" ||
	fail "tlsrec did not hook the cgo client started while recording: $(cat "$d/tlsrec.log")"

assemble_tls
# The report counts the Go server's records by its LIBRARY record.
"$TLSASM" -v "$d/journal.lz4" --keylog "$d/v.txt" 2>"$d/report.log" || fail "tlsasm -v failed"
grep -qE "^tlsasm: [1-9][0-9]* secret records from $server_bin \(go1\.[0-9.]+\)$" "$d/report.log" ||
	fail "tlsasm does not count the Go server's secret records: $(cat "$d/report.log")"
cat "$d/server.keys" "$d/server2.keys" "$d/root/keys" "$d/croot/keys" "$d"/tls*.keys \
	"$d/chroot.keys" "$d/pivot.keys" >"$truth"
# The resumed TLS 1.2 connection: its handshake had no Certificate (it was resumed), and its line
# is the session's master secret (the first connection's, from the client's own key log) with its
# own client random (from its ClientHello, as tshark reads it), which tlsasm must have derived.
stream=$(tshark -r "$d/out.pcapng" -Y 'http.request.uri == "/tls12-resume-1"' -T fields \
	-e tcp.stream 2>/dev/null | head -1)
[ -n "$stream" ] || fail "tshark does not decrypt the resumed TLS 1.2 request"
[ "$(tshark -r "$d/out.pcapng" -Y "tcp.stream == $stream && tls.handshake.type == 11" 2>/dev/null |
	wc -l)" = 0 ] || fail "the second TLS 1.2 connection was not resumed"
cr=$(tshark -r "$d/out.pcapng" -Y "tcp.stream == $stream && tls.handshake.type == 1" -T fields \
	-e tls.handshake.random 2>/dev/null | head -1 | tr -d :)
ms=$(awk '$1 == "CLIENT_RANDOM" { print $3 }' "$d/tls12-resume.keys")
[ "$(wc -l <<<"$ms")" = 1 ] && [ "${#cr}" = 64 ] ||
	fail "not one master secret in tls12-resume.keys, or no client random: [$ms] [$cr]"
echo "CLIENT_RANDOM $cr $ms" >>"$truth"
cat "$d/tls12-resume.keys" >"$d/tls12-resume.all"
echo "CLIENT_RANDOM $cr $ms" >>"$d/tls12-resume.all"
same_keylog "$truth" "$d/got.txt"
# Each client's own KEYLOG records (the server has the same lines) hold its key log exactly. The
# client without a key log: its own records hold its server's lines (that server, outside the
# cgroup, has no records: --cgroup holds for Go programs too).
[ -x "${JRECORDS:-}" ] || fail "JRECORDS is not set to tests/tools' jrecords"
"$JRECORDS" "$d/journal.lz4" >"$d/records.txt" || fail "jrecords failed"
# own NAME: the lines of NAME's own KEYLOG records, in NAME.own.
own() {
	awk -v p="pid=$(cat "$d/$1.pid")" '$1 == "KEYLOG" && $2 == p { print $5, $6, $7 }' \
		"$d/records.txt" >"$d/$1.own"
}
for name in tls13-h1 tls13-h2 tls12-aes128-h1 tls12-aes256-h2 tls12-chacha20-h1 chroot pivot \
	tls13-resume tls12-resume; do
	own "$name"
	same_keylog "$d/$name.keys" "$d/$name.own"
done
own nokeylog
same_keylog "$d/server2.keys" "$d/nokeylog.own"
# The server in the chroot: its own records hold its key log.
awk -v p="pid=$chrooted" '$1 == "KEYLOG" && $2 == p { print $5, $6, $7 }' "$d/records.txt" \
	>"$d/chrooted.own"
same_keylog "$d/root/keys" "$d/chrooted.own"
# The server in the pivot_root container: its own records hold its key log.
awk -v p="pid=$pivoted" '$1 == "KEYLOG" && $2 == p { print $5, $6, $7 }' "$d/records.txt" \
	>"$d/pivoted.own"
same_keylog "$d/croot/keys" "$d/pivoted.own"
grep -q "^KEYLOG pid=$server2 " "$d/records.txt" && fail "KEYLOG records from the server outside the cgroup"

# tshark decrypts every request, HTTP/1.1 and HTTP/2, and every response, from the pcapng alone.
tshark -r "$d/out.pcapng" -o http.desegment_body:FALSE -Y 'http.request or http2.type == 1' \
	-T fields -e http.request.uri -e http2.headers.path 2>/dev/null | tr -d '\t' | sort >"$d/uris.seen"
for name in tls13-h1 tls13-h2 tls12-aes128-h1 tls12-aes256-h2 tls12-chacha20-h1 chroot pivot \
	nokeylog tls13-resume tls12-resume; do
	for i in 0 1; do
		echo "/$name-$i"
	done
done >"$d/uris"
for suite in TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256; do
	for h in http1.1 http2; do
		echo "/curl-$suite-$h"
	done
done >>"$d/uris"
sort "$d/uris" >"$d/uris.want"
# HTTP/2's request headers come once per request here (no other frame with a :path).
grep -v '^$' "$d/uris.seen" | sort -u | diff - "$d/uris.want" >"$d/uris.diff" ||
	fail "tshark does not decrypt every request: $(cat "$d/uris.diff")"
n200=$(tshark -r "$d/out.pcapng" -Y 'http.response.code == 200 or http2.headers.status == 200' \
	2>/dev/null | wc -l)
[ "$n200" -ge "$(wc -l <"$d/uris.want")" ] || fail "tshark shows $n200 responses with code 200"

# tlsasm --pid of a client: its connections, decrypted, and its own key log.
for name in tls13-h1 tls12-aes128-h1 tls12-resume; do
	pid=$(cat "$d/$name.pid")
	"$TLSASM" --pid "$pid" "$d/journal.lz4" -o "$d/$name.pcapng" --keylog "$d/$name.got" \
		2>"$d/$name.log" || fail "tlsasm --pid $pid exited with status $?: $(cat "$d/$name.log")"
	got=$(http_seen "$d/$name.pcapng" | grep -v '^200$' | tr '\n' ' ')
	[ "$got" = "/$name-0 /$name-1 " ] || fail "tlsasm --pid $pid ($name): tshark shows [$got]"
	keys=$d/$name.keys
	[ -f "$d/$name.all" ] && keys=$d/$name.all # with the line of a resumed TLS 1.2 connection
	same_keylog "$keys" "$d/$name.got"
done
# -p and -u, as for OpenSSL: two clients, one as root and one as uid 4242 (a copy of the static
# build it can run, found as it starts), one TLS 1.3 handshake each; only the KEYLOG records of the
# process in scope go into the journal.
chmod 711 "$d"
install -m 755 "$GOTLS_DIR/gotls-static" "$d/gotls-user"
# scope NAME TLSREC-OPTION...: record --secrets-only while the two clients run.
scope() {
	local name=$1
	shift
	start "$ns" "$d/$name.log" "$TLSREC" -v --secrets-only "$@" -w "$d/$name.lz4"
	local rec=$STARTED
	wait_for "$d/$name.log" "recording TLS secrets"
	ip netns exec "$ns" timeout 20 bash -c 'echo $$ >"$0"; exec "$@"' "$d/$name-root.pid" \
		"$GOTLS_DIR/gotls-cgo" get -n 2 -url "$url/$name-root-" >"$d/$name-root.out" 2>&1 ||
		fail "$name: the root client failed: $(cat "$d/$name-root.out")"
	touch "$d/$name-user.pid" && chown 4242 "$d/$name-user.pid" # its to write
	ip netns exec "$ns" timeout 20 setpriv --reuid=4242 --regid=4242 --clear-groups \
		bash -c 'echo $$ >"$0"; exec "$@"' "$d/$name-user.pid" \
		"$d/gotls-user" get -n 2 -wait "$d/$name-user.go" -url "$url/$name-user-" \
		>"$d/$name-user.out" 2>&1 &
	local user=$!
	E2E_PIDS+=("$user")
	# With -p tlsrec does not even look at it; with -u it hooks it as it starts.
	[ "$name" = uid ] && wait_for "$d/$name.log" "hooked $d/gotls-user (Go program"
	touch "$d/$name-user.go"
	wait "$user" || fail "$name: the client of uid 4242 failed: $(cat "$d/$name-user.out")"
	sleep 0.3
	stop "$rec" || fail "$name: tlsrec exited with status $?: $(cat "$d/$name.log")"
	"$JRECORDS" "$d/$name.lz4" | awk '$1 == "KEYLOG" { print $2 }' | sort | uniq -c >"$d/$name.pids"
}
scope pid -p "$server"
[ "$(cat "$d/pid.pids")" = "      8 pid=$server" ] ||
	fail "-p $server: KEYLOG records not 8, all the server's: $(cat "$d/pid.pids")"
scope uid -u 4242
[ "$(cat "$d/uid.pids")" = "      4 pid=$(cat "$d/uid-user.pid")" ] ||
	fail "-u 4242: KEYLOG records not 4, all the client's of uid 4242: $(cat "$d/uid.pids")"

note "ok: $(keylog_lines "$truth" | wc -l) key log lines as the truth, $(wc -l <"$d/uris.want") requests decrypted"
