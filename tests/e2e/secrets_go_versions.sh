#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# TLS secrets from Go programs built by Go 1.20 to 1.26: esbuild's stripped static builds
# (tests/go/esbuild-versions, installed by .ci/deps in ESBUILD_DIR), the ones from Go 1.25 on
# without .go.buildinfo. Each serves a directory over HTTPS (esbuild --servedir --serve --keyfile
# --certfile) in a namespace of its own, started before tlsrec, alone in the recorded cgroup;
# curl, outside it, fetches a file over TLS 1.3 and over TLS 1.2 with SSLKEYLOGFILE, the truth:
# tlsasm --keylog must hold exactly curl's lines (but EXPORTER_SECRET, which Go never logs) and
# tshark must decrypt both requests from tlsasm's pcapng alone. A version tlsrec does not hook
# has no secrets, and fails.
. "$(dirname "$0")/lib.sh"
e2e_init
need tshark curl
[ -f "${ESBUILD_VERSIONS:-}" ] || fail "ESBUILD_VERSIONS is not set to tests/go/esbuild-versions"
[ -d "${ESBUILD_DIR:-}" ] || fail "no ESBUILD_DIR '${ESBUILD_DIR:-}' (bash .ci/deps installs it)"

d=$E2E_DIR
make_cgroup
make_cert "$d"
mkdir "$d/www"
echo "hello from esbuild" >"$d/www/hello.txt"
mkfifo "$d/stdin"

n=0
while read -r version go want; do
	case "$version" in '' | '#'*) continue ;; esac
	n=$((n + 1))
	esbuild=$ESBUILD_DIR/esbuild-$version/bin/esbuild
	[ -x "$esbuild" ] || fail "no $esbuild (bash .ci/deps installs it)"
	make_netns "esb$n"
	ns=$NETNS
	# esbuild serves while its standard input is open: a FIFO it holds open itself.
	start_cg "$ns" "$d/server.log" "$esbuild" --servedir="$d/www" --serve=127.0.0.1:8443 \
		--keyfile="$d/key.pem" --certfile="$d/cert.pem" <>"$d/stdin"
	server=$STARTED
	wait_port "$ns" 8443
	record_tls "$ns" -v
	grep -qF "hooked $esbuild (Go program, $want): writeKeyLog+" "$d/tlsrec.log" ||
		fail "esbuild $version (Go $go): not hooked as a Go program, $want: $(cat "$d/tlsrec.log")"
	rm -f "$d/curl.keys"
	for v in 1.3 1.2; do
		ip netns exec "$ns" env SSLKEYLOGFILE="$d/curl.keys" timeout 20 curl -sk --http1.1 \
			"--tlsv$v" --tls-max "$v" "https://127.0.0.1:8443/hello.txt?tls$v" \
			>"$d/curl.out" 2>&1 || fail "curl over TLS $v to esbuild $version failed: $(cat "$d/curl.out")"
		grep -qx "hello from esbuild" "$d/curl.out" || fail "curl: $(cat "$d/curl.out")"
	done
	sleep 0.5
	stop "$REC" || fail "tlsrec exited with status $?"
	kill -TERM "$server"
	wait "$server" 2>/dev/null || true
	grep -q "TLS secrets lost" "$d/tlsrec.log" && fail "tlsrec lost TLS secrets"
	assemble_tls
	grep -v '^EXPORTER_SECRET ' "$d/curl.keys" >"$d/truth.txt"
	[ "$(grep -c '^CLIENT_RANDOM ' "$d/truth.txt")" = 1 ] ||
		fail "curl's key log has no TLS 1.2 line: $(cat "$d/curl.keys")"
	same_keylog "$d/truth.txt" "$d/got.txt"
	printf '%s\n' "/hello.txt?tls1.2" "/hello.txt?tls1.3" >"$d/uris.txt"
	requests_decrypted "$d/uris.txt"
	note "esbuild $version (Go $go, tlsrec says $want): hooked, $(keylog_lines "$d/got.txt" |
		wc -l) key log lines as curl's, $REQUESTS requests decrypted"
	for f in journal.lz4 out.pcapng got.txt tlsrec.log tlsasm.log truth.txt server.log; do
		mv "$d/$f" "$d/$version-$f"
	done
done <"$ESBUILD_VERSIONS"
[ "$n" -ge 7 ] || fail "only $n esbuild builds in $ESBUILD_VERSIONS"
