# SPDX-License-Identifier: BSD-2-Clause
# Helpers for the end-to-end tests: each test runs as root, in network namespaces it creates, and
# ends only the processes it started (by PID). Source this file; then call e2e_init.
#
# Environment: TLSREC and TLSASM, the binaries under test (ctest sets them).

set -euo pipefail

E2E_NAME=$(basename "$0" .sh)
E2E_PIDS=()
E2E_NETNS=()
E2E_CGROUPS=()
E2E_MOUNTS=()

fail() {
	echo "FAIL: $E2E_NAME: $*" >&2
	exit 1
}

note() {
	echo "$E2E_NAME: $*" >&2
}

# A missing tool or privilege is a failure, said loudly: these tests must run, not skip.
need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 ||
			fail "needs '$t', which is not installed (bash .ci/deps installs everything)"
	done
}

e2e_cleanup() {
	local pid ns cg m
	kill -TERM "$E2E_WATCHDOG" 2>/dev/null || true
	for pid in "${E2E_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	for pid in "${E2E_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	for ns in "${E2E_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	# What is left in a test's cgroup (nginx's workers, say) was started by the test.
	for cg in "${E2E_CGROUPS[@]}"; do
		echo 1 >"$cg/cgroup.kill" 2>/dev/null || true
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			rmdir "$cg" 2>/dev/null && break
			sleep 0.1
		done
	done
	for m in "${E2E_MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || true
	done
	if [ -n "${E2E_DIR:-}" ] && [ "${E2E_KEEP:-0}" != 1 ]; then
		rm -rf "$E2E_DIR"
	fi
}

e2e_init() {
	[ "$(id -u)" = 0 ] || fail "must run as root (it loads BPF programs and makes network namespaces)"
	[ -x "${TLSREC:-}" ] || fail "TLSREC is not set to the tlsrec binary"
	[ -x "${TLSASM:-}" ] || fail "TLSASM is not set to the tlsasm binary"
	need ip tc
	E2E_DIR=$(mktemp -d "/tmp/tlsrec-e2e-$E2E_NAME.XXXXXX")
	trap e2e_cleanup EXIT
	# Bound the whole test in time, whatever hangs. The watchdog ends its own sleep when it is
	# stopped: a leftover sleep would keep ctest's output pipe open.
	trap 'fail "timed out after ${E2E_TIMEOUT:-240} s"' TERM
	(
		trap 'kill "$s" 2>/dev/null; exit 0' TERM
		sleep "${E2E_TIMEOUT:-240}" &
		s=$!
		wait "$s" && kill -TERM $$
	) 2>/dev/null &
	E2E_WATCHDOG=$!
}

# make_netns NAME: a namespace with lo up and IPv6 off (no router solicitations arriving at
# random times), deleted at exit. Sets NETNS to its name; call it directly, not in $(...).
make_netns() {
	NETNS="tlsrec-$1-$$"
	ip netns add "$NETNS"
	E2E_NETNS+=("$NETNS")
	ip netns exec "$NETNS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
	ip -n "$NETNS" link set lo up
}

# make_veth NS_A NS_B: a veth pair between two namespaces, 10.99.0.1/24 in A, 10.99.0.2/24 in B.
make_veth() {
	ip link add vA$$ netns "$1" type veth peer name vB$$ netns "$2"
	ip -n "$1" addr add 10.99.0.1/24 dev vA$$
	ip -n "$2" addr add 10.99.0.2/24 dev vB$$
	ip -n "$1" link set vA$$ up
	ip -n "$2" link set vB$$ up
}

# start NS LOGFILE CMD...: run CMD in namespace NS in the background; sets STARTED to its PID.
start() {
	local ns=$1 log=$2
	shift 2
	ip netns exec "$ns" "$@" >"$log" 2>&1 &
	STARTED=$!
	E2E_PIDS+=("$STARTED")
}

# has PATTERN CMD...: CMD's output has a line matching PATTERN. (Not "CMD | grep -q": with
# pipefail, grep's early exit kills CMD with SIGPIPE and the pipeline's status lies.)
has() {
	local pattern=$1 out
	shift
	out=$("$@")
	grep -q -- "$pattern" <<<"$out"
}

# wait_for FILE PATTERN [SECONDS]: until FILE holds a line matching PATTERN.
wait_for() {
	local i
	for ((i = 0; i < ${3:-10} * 20; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	cat "$1" >&2 || true
	fail "timed out waiting for '$2' in $1"
}

# stop PID: SIGINT, then wait for it; returns its exit status.
stop() {
	kill -INT "$1"
	local rc=0
	wait "$1" || rc=$?
	return $rc
}

# record_both NS IFACE: tcpdump (to $E2E_DIR/ref.pcap) and tlsrec (to $E2E_DIR/journal.lz4) on
# IFACE in NS at the same time, both ready; sets DUMP and REC to their PIDs.
record_both() {
	start "$1" "$E2E_DIR/tcpdump.log" tcpdump --immediate-mode -U -i "$2" -w "$E2E_DIR/ref.pcap"
	DUMP=$STARTED
	start "$1" "$E2E_DIR/tlsrec.log" "$TLSREC" -i "$2" -w "$E2E_DIR/journal.lz4"
	REC=$STARTED
	wait_for "$E2E_DIR/tcpdump.log" "listening on $2"
	wait_for "$E2E_DIR/tlsrec.log" "recording on $2 "
}

# stop_both: stop record_both's tlsrec, then its tcpdump once tcpdump's file holds as many frames
# as tlsrec says it recorded, or 10 s later: tcpdump drops what its ring buffer still holds when it
# is stopped, which on a busy machine can be the last packets of a test.
stop_both() {
	local n i
	stop "$REC" || fail "tlsrec exited with status $?: $(cat "$E2E_DIR/tlsrec.log")"
	n=$(sed -n 's/^\([0-9]*\) packets recorded.*/\1/p' "$E2E_DIR/tlsrec.log")
	for ((i = 0; i < 50; i++)); do
		[ "$(count "$E2E_DIR/ref.pcap")" -ge "${n:-0}" ] && break
		sleep 0.2
	done
	stop "$DUMP" || true
}

# wait_port NS PORT: until something listens on TCP PORT in NS.
wait_port() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ -n "$(ip netns exec "$1" ss -Hltn "sport = :$2")" ] && return 0
		sleep 0.05
	done
	fail "nothing listens on port $2 in $1"
}

# make_cert DIR: an ECDSA P-256 key and self-signed certificate in DIR/key.pem and DIR/cert.pem.
make_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
		-subj /CN=tlsrec.test -keyout "$1/key.pem" -out "$1/cert.pem" 2>/dev/null
}

# packets FILE: one line per IP packet, "src sport dst dport len seq ack flags", sorted: the
# multiset two captures must share.
packets() {
	tshark -r "$1" -o tcp.relative_sequence_numbers:FALSE -T fields -E separator=' ' \
		-e ip.src -e tcp.srcport -e udp.srcport -e ip.dst -e tcp.dstport -e udp.dstport \
		-e frame.len -e tcp.seq -e tcp.ack -e tcp.flags 2>/dev/null | sort
}

# per_direction FILE: "src dst packets bytes" for each direction of IP traffic, sorted.
per_direction() {
	tshark -r "$1" -Y ip -T fields -E separator=, -e ip.src -e ip.dst -e frame.len 2>/dev/null |
		awk -F, '{ n[$1" "$2]++; b[$1" "$2] += $3 } END { for (k in n) print k, n[k], b[k] }' |
		sort
}

# count FILE: the number of frames in a capture.
count() {
	tshark -r "$1" -T fields -e frame.number 2>/dev/null | wc -l
}

# no_tc_leftovers NS IFACE: nothing of tlsrec's (no filter, no clsact qdisc) on IFACE in NS.
no_tc_leftovers() {
	local f
	f=$(ip netns exec "$1" tc filter show dev "$2" ingress 2>/dev/null)$(ip netns exec "$1" tc filter show dev "$2" egress 2>/dev/null)
	[ -z "$f" ] || fail "TC filters left on $2: $f"
	has clsact ip netns exec "$1" tc qdisc show dev "$2" && fail "clsact qdisc left on $2"
	return 0
}

# same_packets A B: the two captures hold the same packets, and the same count and bytes per
# direction.
same_packets() {
	local a b
	[ "$(count "$1")" = "$(count "$2")" ] ||
		fail "$1 holds $(count "$1") frames, $2 holds $(count "$2")"
	a=$(per_direction "$1")
	b=$(per_direction "$2")
	[ -n "$a" ] || fail "no IP packets in $1"
	if [ "$a" != "$b" ]; then
		echo "per direction in $1:" >&2
		echo "$a" >&2
		echo "per direction in $2:" >&2
		echo "$b" >&2
		fail "packets and bytes per direction differ"
	fi
	if ! diff <(packets "$1") <(packets "$2") >"$E2E_DIR/packets.diff"; then
		head -20 "$E2E_DIR/packets.diff" >&2
		fail "the packets differ"
	fi
}

# time_ordered FILE: frame times never decrease.
time_ordered() {
	tshark -r "$1" -T fields -e frame.time_epoch 2>/dev/null |
		awk 'NR > 1 && $1 < prev { print "frame " NR " at " $1 " comes after " prev; bad = 1 }
		     { prev = $1 } END { exit bad }' >&2 || fail "frames in $1 are not in time order"
}

# make_cgroup: a cgroup v2 of this test's own, for the TLS programs it starts (tlsrec --cgroup
# keeps the secrets of everything else on the host out of the journal); removed at exit. Sets
# CGROUP to its directory. The cgroup2 hierarchy is mounted again under the test's directory:
# ip netns exec mounts a /sys of its own, without /sys/fs/cgroup.
make_cgroup() {
	local root=$E2E_DIR/cgroup2
	mkdir "$root"
	mount -t cgroup2 none "$root" || fail "cannot mount cgroup2"
	E2E_MOUNTS+=("$root")
	CGROUP=$root/tlsrec-e2e-$E2E_NAME-$$
	mkdir "$CGROUP"
	E2E_CGROUPS+=("$CGROUP")
}

# in_cg NS CMD...: run CMD in namespace NS and in the test's cgroup, in the foreground.
in_cg() {
	ip netns exec "$1" bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CGROUP" "${@:2}"
}

# start_cg NS LOGFILE CMD...: start, in the test's cgroup.
start_cg() {
	local ns=$1 log=$2
	shift 2
	start "$ns" "$log" bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CGROUP" "$@"
}

# record_tls NS [TLSREC OPTIONS...]: tlsrec on lo in NS, with the TLS secrets of the test's cgroup,
# to $E2E_DIR/journal.lz4, ready; sets REC.
record_tls() {
	local ns=$1
	shift
	start "$ns" "$E2E_DIR/tlsrec.log" "$TLSREC" -i lo --cgroup "$CGROUP" "$@" \
		-w "$E2E_DIR/journal.lz4"
	REC=$STARTED
	wait_for "$E2E_DIR/tlsrec.log" "recording on lo "
}

# start_get NS NAME [WRAPPER... --] HTTPS_GET_ARGS...: start tests/e2e/https_get.py --wait in NS,
# through the wrapper command if one is given (it ends with --), and return once it has libssl
# mapped; it then waits on the FIFO $E2E_DIR/NAME.fifo. Output in $E2E_DIR/NAME.out. Sets the
# variable NAME to its pid. release_get NAME lets it connect and waits for it. HTTPS_GET, if set,
# is the script to run instead (a copy that another user can read).
start_get() {
	local ns=$1 name=$2 wrap=()
	shift 2
	if [[ " $* " == *" -- "* ]]; then
		while [ "$1" != -- ]; do wrap+=("$1"); shift; done
		shift
	fi
	mkfifo "$E2E_DIR/$name.fifo"
	ip netns exec "$ns" "${wrap[@]}" python3 "${HTTPS_GET:-$(dirname "${BASH_SOURCE[0]}")/https_get.py}" --wait "$@" \
		<>"$E2E_DIR/$name.fifo" >"$E2E_DIR/$name.out" 2>&1 &
	E2E_PIDS+=("$!")
	printf -v "$name" %s "$!"
	local i
	for ((i = 0; i < 200; i++)); do
		grep -q '/libssl\.so' "/proc/$!/maps" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "https_get.py ($name) has not loaded libssl after 10 s: $(cat "$E2E_DIR/$name.out")"
}
release_get() {
	echo go >"$E2E_DIR/$1.fifo"
	wait "${!1}" || fail "https_get.py ($1) failed: $(cat "$E2E_DIR/$1.out")"
}

# keylog_lines FILE...: the key log lines of the files, without comments, sorted and unique.
# OpenSSL logs each TLS 1.3 key update as CLIENT_TRAFFIC_SECRET_N (or SERVER_...): those become
# _1, _2, ... in the order they come, per connection.
keylog_lines() {
	cat "$@" | grep -E '^[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]+$' |
		awk '$1 ~ /_TRAFFIC_SECRET_N$/ { k = $1 " " $2; sub(/N$/, ++gen[k], $1) } { print }' |
		sort -u
}

# same_keylog TRUTH GOT: every line of the truth is in GOT, and GOT has no line that is not in the
# truth.
same_keylog() {
	local truth=$1 got=$2 missing extra
	[ -s "$truth" ] || fail "the truth $truth is empty: the clients wrote no key log"
	missing=$(comm -23 <(keylog_lines "$truth") <(keylog_lines "$got"))
	extra=$(comm -13 <(keylog_lines "$truth") <(keylog_lines "$got"))
	if [ -n "$missing" ] || [ -n "$extra" ]; then
		[ -z "$missing" ] || printf 'missing from %s:\n%s\n' "$got" "$missing" >&2
		[ -z "$extra" ] || printf 'in %s, not in the truth:\n%s\n' "$got" "$extra" >&2
		fail "the key log differs from the truth ($(keylog_lines "$truth" | wc -l) lines in the truth)"
	fi
}

# assemble_tls: tlsasm on $E2E_DIR/journal.lz4, to out.pcapng and (--keylog) got.txt there.
assemble_tls() {
	"$TLSASM" "$E2E_DIR/journal.lz4" -o "$E2E_DIR/out.pcapng" --keylog "$E2E_DIR/got.txt" \
		2>"$E2E_DIR/tlsasm.log" || fail "tlsasm exited with status $?: $(cat "$E2E_DIR/tlsasm.log")"
}

# requests_decrypted URIS: tshark, given out.pcapng and no key log, shows the request for every
# line of the file URIS and as many responses with code 200 (http_seen's lines in http.txt). Sets
# REQUESTS.
requests_decrypted() {
	local d=$E2E_DIR uri
	http_seen "$d/out.pcapng" >"$d/http.txt"
	while read -r uri; do
		grep -qx "$uri" "$d/http.txt" ||
			fail "tshark does not show the request for $uri; tlsasm said: $(cat "$d/tlsasm.log")"
	done <"$1"
	REQUESTS=$(wc -l <"$1")
	[ "$(grep -cx 200 "$d/http.txt")" = "$REQUESTS" ] ||
		fail "tshark shows $(grep -cx 200 "$d/http.txt") responses with code 200, not $REQUESTS"
}

# http_seen PCAPNG: "uri" and "code" lines for every HTTP request and response that tshark
# decrypts with what the file holds (no key log given), sorted. (A response without a length
# ends with the connection, which tshark's reassembly over TLS never sees end: take headers as
# they come.)
http_seen() {
	tshark -r "$1" -o http.desegment_body:FALSE -Y http -T fields -e http.request.uri \
		-e http.response.code 2>/dev/null |
		tr -s '\t' ' ' | sed 's/^ //; s/ $//' | sort
}
