#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Which libraries tlsrec finds and hooks, and --list-targets:
#   - a chroot with its own copy of libssl, running before tlsrec starts (found in /proc/PID/maps);
#   - a container (its own mount namespace and root, pivot_root) started while tlsrec records
#     (found by the mmap watch, opened through /proc/PID/root);
#   - a copy of libssl that two new processes load through LD_LIBRARY_PATH: hooked once;
#   - an executable with OpenSSL linked in, named with --libssl;
#   - a file named like libssl that is not OpenSSL: reported with its reason, not hooked, and its
#     code (a constructor) run by the calibration only in its sandbox, where it can write no file;
#   - the same file owned by a user: not loaded at all.
# Every in-scope handshake's secrets must be in the journal: the clients' key logs are the truth.
. "$(dirname "$0")/lib.sh"
e2e_init
need openssl curl python3 tshark unshare chroot setpriv gcc
[ -x "${STATIC_CLIENT:-}" ] || fail "STATIC_CLIENT is not set to the static_client binary"
STATIC_CLIENT=$(realpath "$STATIC_CLIENT")

make_netns targets
ns=$NETNS
d=$E2E_DIR
make_cert "$d"
make_cgroup
truth=$d/truth.txt
libssl=$(ldd "$(command -v openssl)" | grep -o '/[^ ]*/libssl\.so[^ ]*')
[ -f "$libssl" ] || fail "cannot find the libssl that openssl uses"

# A root file system with openssl, its libraries (copies: files of their own) and the certificate.
make_root() {
	local r=$1 l
	mkdir -p "$r/usr/bin" "$r/tmp" "$r/old"
	cp "$(command -v openssl)" "$r/usr/bin/"
	for l in $(ldd "$(command -v openssl)" | grep -o '/[^ ]*'); do
		mkdir -p "$r$(dirname "$l")"
		cp "$l" "$r$l"
	done
	cp "$d/cert.pem" "$d/key.pem" "$r/tmp/"
}
www='/usr/bin/openssl s_server -cert /tmp/cert.pem -key /tmp/key.pem -www -quiet -accept'

# The server every client here talks to: not in the cgroup, so its secrets are not recorded.
start "$ns" "$d/www.log" openssl s_server -accept 4433 -cert "$d/cert.pem" -key "$d/key.pem" -www -quiet
wait_port "$ns" 4433

# Before tlsrec: a chroot server, and a process that maps a fake libssl.
make_root "$d/chroot"
start_cg "$ns" "$d/chroot.log" env OPENSSL_CONF=/dev/null chroot "$d/chroot" $www 4435
CHROOT=$STARTED
wait_port "$ns" 4435
mkdir -m 755 "$d/fake" "$d/evil" "$d/copy"
mkdir -m 1777 "$d/ctor"
chmod 711 "$d"
printf '%s\n' '#include <stdio.h>' '#include <unistd.h>' \
	'__attribute__((constructor)) static void ctor(void) {' '	char p[512];' \
	"	snprintf(p, sizeof(p), \"$d/ctor/%u-%u\", (unsigned)getuid(), (unsigned)geteuid());" \
	'	FILE *f = fopen(p, "w");' '	if (f) fclose(f);' '}' >"$d/fake.c"
gcc -shared -fPIC -o "$d/fake/libssl.so.9" "$d/fake.c" || fail "cannot build the fake libssl"
cp "$d/fake/libssl.so.9" "$d/evil/libssl.so.8"
chown 4243 "$d/evil/libssl.so.8"
as_user=(setpriv --reuid=4243 --regid=4243 --clear-groups)
start_cg "$ns" "$d/fake.log" "${as_user[@]}" env LD_PRELOAD="$d/fake/libssl.so.9" sleep 100
wait_for "/proc/$STARTED/maps" "$d/fake/libssl.so.9"
start_cg "$ns" "$d/evil.log" "${as_user[@]}" env LD_PRELOAD="$d/evil/libssl.so.8" sleep 100
wait_for "/proc/$STARTED/maps" "$d/evil/libssl.so.8"
cp "$libssl" "$d/copy/"

record_tls "$ns" -v --libssl "$STATIC_CLIENT"
wait_for "$d/tlsrec.log" "hooked /proc/$CHROOT/root/.*libssl"
grep -q "$d/fake/libssl.so.9: not hooked: .*not OpenSSL" "$d/tlsrec.log" ||
	fail "tlsrec did not report the fake libssl: $(cat "$d/tlsrec.log")"
grep -q "$d/evil/libssl.so.8: not hooked: owned by uid 4243, not by root" "$d/tlsrec.log" ||
	fail "tlsrec did not refuse the user's libssl: $(cat "$d/tlsrec.log")"
grep -q "hooked $STATIC_CLIENT" "$d/tlsrec.log" || fail "tlsrec did not hook $STATIC_CLIENT"

# While recording: a container, and two processes that load the same new copy of libssl.
make_root "$d/container"
start_cg "$ns" "$d/container.log" env OPENSSL_CONF=/dev/null unshare -m bash -c \
	'mount --make-rprivate / && mount --bind "$0" "$0" && cd "$0" && pivot_root . old && exec "$@"' \
	"$d/container" $www 4436
CONTAINER=$STARTED
wait_port "$ns" 4436
wait_for "$d/tlsrec.log" "hooked /proc/$CONTAINER/root/lib/.*libssl"
in_copy=(bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CGROUP" env LD_LIBRARY_PATH="$d/copy" --)
start_get "$ns" py1 "${in_copy[@]}" --keylog "$truth" --tls 1.3 127.0.0.1 4433 /copy-1.3
start_get "$ns" py2 "${in_copy[@]}" --keylog "$truth" --tls 1.2 --resume 127.0.0.1 4433 /copy-1.2
wait_for "$d/tlsrec.log" "hooked $d/copy/libssl"

# --list-targets sees the same, from outside the namespace.
"$TLSREC" --list-targets --libssl "$STATIC_CLIENT" >"$d/targets.txt" 2>&1 ||
	fail "tlsrec --list-targets failed: $(cat "$d/targets.txt")"
block() { awk -v p="$1" '$0 == p { on = 1; print; next } /^[^ ]/ { on = 0 } on' "$d/targets.txt"; }
block "$d/copy/libssl.so.3" | grep -q "mapped by.* $py1 (python3)" ||
	fail "--list-targets does not show python3 ($py1) mapping the copy: $(cat "$d/targets.txt")"
block "$d/copy/libssl.so.3" | grep -q " $py2 (python3)" ||
	fail "--list-targets does not show python3 ($py2) mapping the copy: $(cat "$d/targets.txt")"
block "$d/copy/libssl.so.3" | grep -q "; calibrated; hook at file offset" ||
	fail "--list-targets: the copy is not calibrated: $(cat "$d/targets.txt")"
block "$d/fake/libssl.so.9" | grep -q "not calibrated: .*not OpenSSL" ||
	fail "--list-targets does not say the fake libssl is not OpenSSL: $(cat "$d/targets.txt")"
block "$d/evil/libssl.so.8" | grep -q "not calibrated: owned by uid 4243" ||
	fail "--list-targets does not say why the user's libssl is not loaded: $(cat "$d/targets.txt")"
# The fake's constructor ran in the sleepers (4243), and in the calibration (which loaded it: "not
# OpenSSL") without leaving a file (e2e.calibration_sandbox tries every other way out).
[ -e "$d/ctor/4243-4243" ] || fail "the fake's constructor did not run: $(ls "$d/ctor")"
[ "$(ls "$d/ctor" | grep -vx -e 4243-4243)" = "" ] ||
	fail "a library's constructor wrote a file in the calibration: $(ls "$d/ctor")"
block "/proc/$CHROOT/root/lib/x86_64-linux-gnu/libssl.so.3" | grep -q "mapped by $CHROOT (openssl)" ||
	block "/proc/$CHROOT/root/usr/lib/x86_64-linux-gnu/libssl.so.3" | grep -q "mapped by $CHROOT (openssl)" ||
	fail "--list-targets does not show the chroot's libssl: $(cat "$d/targets.txt")"
block "$STATIC_CLIENT" | grep -q "calibrated; hook" ||
	fail "--list-targets: $STATIC_CLIENT is not calibrated: $(cat "$d/targets.txt")"

# The handshakes.
release_get py1
release_get py2
grep -q "^resumed /copy-1.2$" "$d/py2.out" || fail "python did not resume: $(cat "$d/py2.out")"
printf '%s\n' /copy-1.3 /copy-1.2 /copy-1.2-resumed >"$d/uris"
for port in 4435 4436; do
	ip netns exec "$ns" env SSLKEYLOGFILE="$truth" curl -sk -o /dev/null "https://127.0.0.1:$port/curl-$port" ||
		fail "curl to port $port failed"
	echo "/curl-$port" >>"$d/uris"
done
for v in 1.2 1.3; do
	in_cg "$ns" "$STATIC_CLIENT" 127.0.0.1 4433 "/static-$v" "$truth" $v >>"$d/static.out" ||
		fail "static_client failed"
	echo "/static-$v" >>"$d/uris"
done
sleep 0.5
stop "$REC" || fail "tlsrec exited with status $?"

[ "$(grep -c "hooked $d/copy/libssl" "$d/tlsrec.log")" = 1 ] ||
	fail "the copy of libssl was not hooked exactly once: $(cat "$d/tlsrec.log")"
grep -q "TLS secrets lost" "$d/tlsrec.log" && fail "tlsrec lost TLS secrets"
assemble_tls
same_keylog "$truth" "$d/got.txt"
requests_decrypted "$d/uris"
note "ok: $(keylog_lines "$truth" | wc -l) key log lines from a chroot, a container, a copy of libssl and a static executable"
