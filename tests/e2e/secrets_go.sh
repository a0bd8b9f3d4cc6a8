#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# TLS secrets from Go programs (crypto/tls, no OpenSSL on either end): tests/go/gotls.go built
# static, stripped (-s -w), PIE and with cgo (GOTLS_DIR). The server (PIE) is started before
# tlsrec; the clients after it, each found as its process starts. TLS 1.3 (AES-128-GCM between Go
# programs; AES-256-GCM and ChaCha20 from curl, which Go's client cannot be told to offer, curl
# outside the recorded cgroup so that only the Go server's secrets are there), TLS 1.2 with three
# suites, HTTP/1.1 and HTTP/2, a handshake per request and keep-alive. The truth is the programs'
# own KeyLogWriter files: tlsasm --keylog must hold exactly their lines, tshark must decrypt every
# request from the pcapng alone, tlsasm --pid of a client must give that client's connections. A
# client that sets no KeyLogWriter, talking to a Go server outside the recorded cgroup (whose key
# log is then the truth), must still have its secrets recorded. --go-program and --list-targets
# show a Go program with its version and hook, running or not.
. "$(dirname "$0")/lib.sh"
e2e_init
need tshark curl
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
grep -qx "    not hooked: not a Go program (no .go.buildinfo section)" "$d/notgo.txt" ||
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
record_tls "$ns" -v --go-program "$GOTLS_DIR/gotls-stripped"
grep -qE "hooked $server_bin \(Go program, go1\.[0-9.]+\): writeKeyLog\+[0-9]+, file offset 0x" "$d/tlsrec.log" ||
	fail "tlsrec did not hook the running Go server: $(cat "$d/tlsrec.log")"
grep -q "hooked $GOTLS_DIR/gotls-stripped (Go program" "$d/tlsrec.log" ||
	fail "tlsrec did not hook the program --go-program named: $(cat "$d/tlsrec.log")"

# get NAME BUILD GOTLS_GET_OPTIONS...: the Go client NAME (its pid in NAME.pid, its key log in
# NAME.keys unless -nokeylog comes first) GETs /NAME-0, /NAME-1 from the server.
get() {
	local name=$1 build=$2
	local kl=(-keylog "$d/$name.keys")
	shift 2
	if [ "${1:-}" = -nokeylog ]; then
		kl=()
		shift
	fi
	in_cg "$ns" timeout 20 bash -c 'echo $$ >"$0"; exec "$@"' "$d/$name.pid" \
		"$GOTLS_DIR/gotls-$build" get "${kl[@]}" -n 2 "$@" >"$d/$name.out" 2>&1 ||
		fail "the Go client $name failed: $(cat "$d/$name.out")"
	[ "$(grep -c "^hello /$name-" "$d/$name.out")" = 2 ] || fail "$name: no 2 responses: $(cat "$d/$name.out")"
}

get tls13-h1 static -url "$url/tls13-h1-" -v 13 -newconn
get tls13-h2 cgo -url "$url/tls13-h2-" -v 13 -h2
get tls12-aes128-h1 stripped -url "$url/tls12-aes128-h1-" -v 12 -newconn -cipher ECDHE-ECDSA-AES128-GCM-SHA256
get tls12-aes256-h2 pie -url "$url/tls12-aes256-h2-" -v 12 -h2 -cipher ECDHE-ECDSA-AES256-GCM-SHA384
get tls12-chacha20-h1 cgo -url "$url/tls12-chacha20-h1-" -v 12 -cipher ECDHE-ECDSA-CHACHA20-POLY1305
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
	fail "tlsrec did not hook the static client started while recording: $(cat "$d/tlsrec.log")"
grep -q "hooked $GOTLS_DIR/gotls-cgo (Go program" "$d/tlsrec.log" ||
	fail "tlsrec did not hook the cgo client started while recording: $(cat "$d/tlsrec.log")"

assemble_tls
# The report counts the Go server's records by its LIBRARY record.
"$TLSASM" -v "$d/journal.lz4" --keylog "$d/v.txt" 2>"$d/report.log" || fail "tlsasm -v failed"
grep -qE "^tlsasm: [1-9][0-9]* secret records from $server_bin \(go1\.[0-9.]+\)$" "$d/report.log" ||
	fail "tlsasm does not count the Go server's secret records: $(cat "$d/report.log")"
cat "$d/server.keys" "$d/server2.keys" "$d"/tls*.keys >"$truth"
same_keylog "$truth" "$d/got.txt"
# The client without a key log: its lines come from its own records (its server, outside the
# cgroup, has none: --cgroup holds for Go programs too), and they are the server's.
[ -x "${JRECORDS:-}" ] || fail "JRECORDS is not set to tests/tools' jrecords"
"$JRECORDS" "$d/journal.lz4" >"$d/records.txt" || fail "jrecords failed"
[ "$(grep -c "^KEYLOG pid=$(cat "$d/nokeylog.pid") " "$d/records.txt")" = 8 ] ||
	fail "not 8 KEYLOG records (2 TLS 1.3 handshakes) from the client without a KeyLogWriter"
grep -q "^KEYLOG pid=$server2 " "$d/records.txt" && fail "KEYLOG records from the server outside the cgroup"
grep -q "^CLIENT_TRAFFIC_SECRET_0 " "$d/server2.keys" || fail "the second server logged nothing"
comm -23 <(keylog_lines "$d/server2.keys") <(keylog_lines "$d/got.txt") >"$d/nokeylog.missing"
[ -s "$d/nokeylog.missing" ] && fail "the client without a KeyLogWriter lacks lines: $(cat "$d/nokeylog.missing")"

# tshark decrypts every request, HTTP/1.1 and HTTP/2, and every response, from the pcapng alone.
tshark -r "$d/out.pcapng" -o http.desegment_body:FALSE -Y 'http.request or http2.type == 1' \
	-T fields -e http.request.uri -e http2.headers.path 2>/dev/null | tr -d '\t' | sort >"$d/uris.seen"
for name in tls13-h1 tls13-h2 tls12-aes128-h1 tls12-aes256-h2 tls12-chacha20-h1 nokeylog; do
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
for name in tls13-h1 tls12-aes128-h1; do
	pid=$(cat "$d/$name.pid")
	"$TLSASM" --pid "$pid" "$d/journal.lz4" -o "$d/$name.pcapng" --keylog "$d/$name.got" \
		2>"$d/$name.log" || fail "tlsasm --pid $pid exited with status $?: $(cat "$d/$name.log")"
	got=$(http_seen "$d/$name.pcapng" | grep -v '^200$' | tr '\n' ' ')
	[ "$got" = "/$name-0 /$name-1 " ] || fail "tlsasm --pid $pid ($name): tshark shows [$got]"
	same_keylog "$d/$name.keys" "$d/$name.got"
done
note "ok: $(keylog_lines "$truth" | wc -l) key log lines as the truth, $(wc -l <"$d/uris.want") requests decrypted"
