#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The connection index on a real recording: a python3 TLS server and two clients with known pids
# (curl, and python3's https_get.py) over lo, recorded by tlsrec. tlsasm conns --json must list
# each client's connection with its pid and comm, the server's pid as the peer, and packets and
# bytes each way equal to what tshark counts in the pcapng of the same journal; tlsasm procs must
# list the three processes.
. "$(dirname "$0")/lib.sh"
e2e_init
need openssl curl python3 tshark

make_netns index
ns=$NETNS
d=$E2E_DIR
make_cert "$d"
cat >"$d/server.py" <<'PY'
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"x" * 3000
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 4443), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PY
start "$ns" "$d/server.log" python3 "$d/server.py" "$d/cert.pem" "$d/key.pem"
server=$STARTED
wait_port "$ns" 4443
start "$ns" "$d/tlsrec.log" "$TLSREC" -i lo -w "$d/journal.lz4"
REC=$STARTED
wait_for "$d/tlsrec.log" "recording on lo "

ip netns exec "$ns" curl -sk -o /dev/null https://127.0.0.1:4443/curl &
curl_pid=$!
wait "$curl_pid" || fail "curl failed"
ip netns exec "$ns" python3 "$(dirname "$0")/https_get.py" --keylog "$d/py.keys" 127.0.0.1 4443 /py \
	>"$d/py.out" &
py_pid=$!
wait "$py_pid" || fail "https_get.py failed"
grep -q "^/py 200$" "$d/py.out" || fail "python3 got no 200: $(cat "$d/py.out")"
sleep 0.5
stop "$REC" || fail "tlsrec exited with status $?"

"$TLSASM" conns --json "$d/journal.lz4" >"$d/conns.json" || fail "tlsasm conns failed"
python3 -m json.tool "$d/conns.json" >/dev/null || fail "conns --json is not JSON"
"$TLSASM" "$d/journal.lz4" -o "$d/out.pcapng" 2>"$d/tlsasm.log" || fail "tlsasm failed"
tshark -r "$d/out.pcapng" -Y tcp -T fields -E separator=, -e tcp.srcport -e tcp.dstport \
	-e frame.len >"$d/frames.csv" 2>/dev/null
python3 - "$d/conns.json" "$d/frames.csv" "$curl_pid" "$py_pid" "$server" <<'PY' || fail "conns disagrees"
import json, sys
conns = json.load(open(sys.argv[1]))
frames = [tuple(map(int, l.split(","))) for l in open(sys.argv[2]) if l.strip()]
want = {int(sys.argv[3]): "curl", int(sys.argv[4]): "python3"}
server = int(sys.argv[5])
found = set()
for c in conns:
    if c["protocol"] != "tcp" or c["remote_port"] != 4443:
        continue
    pid = c["pid"]
    if pid not in want:
        sys.exit("connection %s: pid %s, not a client's (%s)" % (c["id"], pid, want))
    if c["comm"] != want[pid]:
        sys.exit("pid %s: comm %s, not %s" % (pid, c["comm"], want[pid]))
    if c["peer_pid"] != server or c["peer_comm"] != "python3":
        sys.exit("pid %s: peer %s %s, not the server %d" % (pid, c["peer_pid"], c["peer_comm"], server))
    out = [l for s, d, l in frames if s == c["local_port"] and d == 4443]
    inn = [l for s, d, l in frames if s == 4443 and d == c["local_port"]]
    if (len(out), sum(out), len(inn), sum(inn)) != (c["packets_out"], c["bytes_out"], c["packets_in"], c["bytes_in"]):
        sys.exit("pid %s: conns says %s/%s out, %s/%s in; tshark counts %d/%d out, %d/%d in" % (
            pid, c["packets_out"], c["bytes_out"], c["packets_in"], c["bytes_in"],
            len(out), sum(out), len(inn), sum(inn)))
    if c["tls"] not in ("1.2", "1.3"):
        sys.exit("pid %s: TLS version %s" % (pid, c["tls"]))
    found.add(pid)
if found != set(want):
    sys.exit("connections of %s found, of %s wanted" % (sorted(found), sorted(want)))
PY
"$TLSASM" procs --csv "$d/journal.lz4" >"$d/procs.csv" || fail "tlsasm procs failed"
for p in "$curl_pid,.*,curl" "$py_pid,.*,python3" "$server,.*,python3"; do
	grep -q ",$p," "$d/procs.csv" || fail "procs does not list $p: $(cat "$d/procs.csv")"
done
note "ok: curl ($curl_pid), python3 ($py_pid) and the server ($server) attributed, bytes as tshark counts"
