#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# TLS secrets of nginx as the server: only nginx is in the recorded cgroup, so every secret comes
# from its worker. Clients: curl (keep-alive, a new connection per request with session
# resumption, the three cipher suites, TLS 1.2 and 1.3) and Python's ssl module (keep-alive,
# resumption, handshakes driven by the first write). The clients' own key logs are the truth.
. "$(dirname "$0")/lib.sh"
e2e_init
need nginx openssl curl python3 tshark

make_netns nginx
ns=$NETNS
d=$E2E_DIR
make_cert "$d"
make_cgroup
truth=$d/truth.txt
get=$(dirname "$0")/https_get.py
mkdir "$d/nginx"

cat >"$d/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/nginx-error.log info;
events { worker_connections 64; }
http {
	access_log $d/nginx-access.log;
	client_body_temp_path $d/nginx/body;
	proxy_temp_path $d/nginx/proxy;
	fastcgi_temp_path $d/nginx/fastcgi;
	server {
		listen 127.0.0.1:8443 ssl;
		ssl_certificate $d/cert.pem;
		ssl_certificate_key $d/key.pem;
		ssl_protocols TLSv1.2 TLSv1.3;
		ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305;
		ssl_session_cache shared:TLSREC:1m;
		ssl_session_tickets on;
		keepalive_requests 1000;
		location / { return 200 "\$request_uri\n"; }
	}
}
EOF
start_cg "$ns" "$d/nginx.log" nginx -p "$d/nginx" -c "$d/nginx.conf" -e "$d/nginx-error.log"
NGINX=$STARTED
wait_port "$ns" 8443
record_tls "$ns"
url=https://127.0.0.1:8443

# Outside the cgroup: the clients' secrets are not recorded, only nginx's.
client() {
	ip netns exec "$ns" env SSLKEYLOGFILE="$truth" "$@"
}

# curl, keep-alive: three requests on one connection, one suite each time.
for s in TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256; do
	client curl -sk --tlsv1.3 --tls13-ciphers "$s" -w '%{http_code} %{num_connects}\n' \
		-o /dev/null "$url/ka-$s-1" -o /dev/null "$url/ka-$s-2" -o /dev/null "$url/ka-$s-3" \
		>"$d/curl.out" || fail "curl keep-alive $s failed"
	[ "$(cat "$d/curl.out")" = "$(printf '200 1\n200 0\n200 0')" ] ||
		fail "curl $s did not keep the connection alive: $(cat "$d/curl.out")"
	printf '%s\n' "/ka-$s-1" "/ka-$s-2" "/ka-$s-3" >>"$d/uris"
done
for s in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305; do
	client curl -sk --tlsv1.2 --tls-max 1.2 --ciphers "$s" -w '%{http_code}\n' -o /dev/null \
		"$url/ka-$s-1" -o /dev/null "$url/ka-$s-2" >"$d/curl.out" || fail "curl $s failed"
	[ "$(grep -c '^200$' "$d/curl.out")" = 2 ] || fail "curl $s: $(cat "$d/curl.out")"
	printf '%s\n' "/ka-$s-1" "/ka-$s-2" >>"$d/uris"
done

# curl, a connection per request: the second resumes the first one's session.
for v in 1.2 1.3; do
	client curl -vsk --tlsv$v --tls-max $v -H 'Connection: close' -o /dev/null "$url/close-$v-1" \
		-o /dev/null "$url/close-$v-2" 2>"$d/curl-$v.err" || fail "curl close $v failed"
	grep -q "SSL re-using session ID" "$d/curl-$v.err" || fail "curl did not resume its TLS $v session"
	printf '%s\n' "/close-$v-1" "/close-$v-2" >>"$d/uris"
done

# python3
py() {
	ip netns exec "$ns" python3 "$get" --keylog "$truth" "$@" >>"$d/py.out" ||
		fail "https_get.py $* failed"
}
for v in 1.2 1.3; do
	py --tls $v --keep-alive 127.0.0.1 8443 "/py-$v-a" "/py-$v-b"
	py --tls $v --implicit 127.0.0.1 8443 "/py-$v-implicit"
	py --tls $v --resume 127.0.0.1 8443 "/py-$v"
	grep -q "^resumed /py-$v$" "$d/py.out" || fail "python did not resume its TLS $v session"
	printf '%s\n' "/py-$v-a" "/py-$v-b" "/py-$v-implicit" "/py-$v" "/py-$v-resumed" >>"$d/uris"
done
[ "$(grep -c " 200$" "$d/py.out")" = 10 ] || fail "python did not get 10 responses: $(cat "$d/py.out")"
sleep 0.5

stop "$REC" || fail "tlsrec exited with status $?"
stop "$NGINX" || true
grep -q "TLS secrets lost" "$d/tlsrec.log" && fail "tlsrec lost TLS secrets"
assemble_tls
conns=$(grep -c . "$d/nginx-access.log")
grep -q "TLS connections in the packets, .* with secrets" "$d/tlsasm.log" ||
	fail "tlsasm did not report connections and secrets: $(cat "$d/tlsasm.log")"
same_keylog "$truth" "$d/got.txt"

requests_decrypted "$d/uris"
[ "$conns" = "$REQUESTS" ] || fail "nginx logged $conns requests, the clients sent $REQUESTS"
note "ok: $(keylog_lines "$truth" | wc -l) key log lines from nginx's secrets, $REQUESTS requests decrypted"
