#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# TLS secrets of curl and of Python's ssl module, against openssl s_server -www: TLS 1.2 and 1.3,
# explicit handshakes and handshakes driven by the first write, session resumption. The clients'
# own key logs (SSLKEYLOGFILE, keylog_filename) are the truth; tshark must decrypt every request
# and response with nothing but the pcapng.
. "$(dirname "$0")/lib.sh"
e2e_init
need openssl curl python3 tshark

make_netns clients
ns=$NETNS
d=$E2E_DIR
make_cert "$d"
make_cgroup
truth=$d/truth.txt
get=$(dirname "$0")/https_get.py

start_cg "$ns" "$d/www.log" openssl s_server -accept 4433 -cert "$d/cert.pem" -key "$d/key.pem" -www -quiet
wait_port "$ns" 4433
record_tls "$ns"

# curl: one connection per URL.
for v in 1.2 1.3; do
	for i in 1 2; do
		code=$(SSLKEYLOGFILE=$truth in_cg "$ns" curl -sk --tlsv$v --tls-max $v -o /dev/null \
			-w '%{http_code}' "https://127.0.0.1:4433/curl-$v-$i") || fail "curl $v $i failed"
		[ "$code" = 200 ] || fail "curl $v $i: status $code"
		echo "/curl-$v-$i" >>"$d/uris"
	done
done

# python3: explicit handshakes, handshakes that the first write drives, and resumption.
py() {
	in_cg "$ns" python3 "$get" --keylog "$truth" "$@" >>"$d/py.out" || fail "https_get.py $* failed"
}
for v in 1.2 1.3; do
	py --tls $v 127.0.0.1 4433 "/py-$v-explicit"
	py --tls $v --implicit 127.0.0.1 4433 "/py-$v-implicit"
	py --tls $v --resume 127.0.0.1 4433 "/py-$v"
	grep -q "^resumed /py-$v$" "$d/py.out" || fail "python did not resume its TLS $v session"
	printf '%s\n' "/py-$v-explicit" "/py-$v-implicit" "/py-$v" "/py-$v-resumed" >>"$d/uris"
done
[ "$(grep -c " 200$" "$d/py.out")" = 8 ] || fail "python did not get 8 responses: $(cat "$d/py.out")"
sleep 0.5

stop "$REC" || fail "tlsrec exited with status $?"
grep -q "TLS secrets lost" "$d/tlsrec.log" && fail "tlsrec lost TLS secrets"
assemble_tls
same_keylog "$truth" "$d/got.txt"

requests_decrypted "$d/uris"
note "ok: $(keylog_lines "$truth" | wc -l) key log lines as the truth, $REQUESTS requests decrypted"
