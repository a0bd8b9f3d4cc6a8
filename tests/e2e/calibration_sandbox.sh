#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# A user's library cannot reach root through tlsrec's calibration. A user (uid 4242) makes a
# "container" with unshare -Ur --root=DIR whose /usr/lib/x86_64-linux-gnu/libssl.so.3 is their own
# (hostile/hostile_lib.c), and keeps a process mapping it. tlsrec --list-targets, run as root in a
# terminal with a secret in its environment, calibrates it, and each of the constructor's attempts
# fails:
#   - typing a command into root's terminal (TIOCSTI): the shell reads nothing after tlsrec;
#   - tlsrec's environment, written to standard error, a file or a socket: nowhere;
#   - a file in its root's world-writable /tmp: not made;
#   - a connection to a listener on the host's loopback: none comes;
#   - a process that forks and sleeps forever: gone when the calibration ends.
# tlsrec says the library is not calibrated, calibrates the system's libssl, and exits 0. All of
# it with fs.protected_symlinks=0, then 1. Then a library that answers in the calibration's place
# and sleeps: tlsrec does not wait for it (it used to wait forever), and refuses the answer.
. "$(dirname "$0")/lib.sh"
e2e_init
need setpriv unshare python3
[ -f "${HOSTILE_LIB:-}" ] || fail "HOSTILE_LIB is not set to the hostile library"
[ -x "${MAPLIB:-}" ] || fail "MAPLIB is not set to the maplib helper"
[ -f "${HOSTILE_SLEEPER:-}" ] || fail "HOSTILE_SLEEPER is not set to the sleeping library"
protected=$(sysctl -n fs.protected_symlinks)
trap 'sysctl -qw fs.protected_symlinks="$protected"; e2e_cleanup' EXIT

d=$E2E_DIR
chmod 711 "$d"
secret="s3cret-$$-$RANDOM"
root=$d/root
lib=/usr/lib/x86_64-linux-gnu/libssl.so.3

# user_root DIR FILE: a root of uid 4242's own holding FILE as $lib (and maplib), and a process of
# the user's there (unshare -Ur --root) that maps it; sets MAPPER to its PID.
user_root() {
	mkdir -p "$1$(dirname $lib)" "$1/proc" "$1/tmp"
	cp "$2" "$1$lib"
	cp "$MAPLIB" "$1/maplib"
	chmod 1777 "$1/tmp"
	chown -R 4242:4242 "$1"
	setpriv --reuid=4242 --regid=4242 --clear-groups unshare -Ur --root="$1" /maplib $lib \
		>"$1.log" 2>&1 &
	MAPPER=$!
	E2E_PIDS+=("$MAPPER")
	wait_for "$1.log" mapped
}

user_root "$root" "$HOSTILE_LIB"
user=$MAPPER

# What reaches the host's loopback, port 47613 (hostile_lib.c's).
python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 47613))
s.listen(4)
open(sys.argv[1] + ".ready", "w").close()
while True:
    c, _ = s.accept()
    open(sys.argv[1], "ab").write(b"connection: " + c.recv(256) + b"\n")
' "$d/conn" &
E2E_PIDS+=("$!")
for _ in $(seq 100); do [ -e "$d/conn.ready" ] && break; sleep 0.05; done
[ -e "$d/conn.ready" ] || fail "the listener did not start"

# Run a shell command in a new terminal (tlsrec's controlling terminal), as a user at a prompt.
in_terminal() {
	python3 -c '
import os, pty, select, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp("bash", ["bash", "-c", sys.argv[1]])
# Until the shell ends: what it started may keep the terminal open.
while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        sys.exit(os.waitstatus_to_exitcode(status))
    if select.select([fd], [], [], 0.1)[0]:
        try:
            os.read(fd, 4096)
        except OSError:
            pass
' "$1"
}

# Processes in the user's root other than the user's own: what a calibration left behind.
left_in_root() {
	{ stat -Lc '%n %d:%i' /proc/[0-9]*/root 2>/dev/null || true; } |
		awk -v want="$(stat -c %d:%i "$root")" -v user="/proc/$user/root" \
			'$2 == want && $1 != user { sub("/root$", "", $1); print $1 }' |
		while read -r p; do echo "${p#/proc/}: $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)"; done
}

for prot in 0 1; do
	sysctl -qw fs.protected_symlinks=$prot
	note "fs.protected_symlinks=$prot"
	rm -f "$d/out" "$d/err" "$d/typed" "$d/rc"
	in_terminal "TLSREC_HOSTILE_SECRET=$secret timeout 60 $TLSREC --list-targets >$d/out 2>$d/err;
		echo \$? >$d/rc; read -r -t 3 line; echo \"\$line\" >$d/typed" ||
		fail "the terminal session failed"
	sleep 1
	left=$(left_in_root)
	# End what the calibration left (started by this test, through tlsrec) before judging.
	for p in $(cut -d: -f1 <<<"$left"); do kill -KILL "$p" 2>/dev/null || true; done
	[ "$(cat "$d/rc")" = 0 ] || fail "tlsrec --list-targets exited $(cat "$d/rc"): $(cat "$d/err")"
	typed=$(cat "$d/typed")
	[ -z "$typed" ] || fail "the library typed into root's terminal: $typed"
	! grep -q "$secret" "$d/out" "$d/err" ||
		fail "tlsrec's environment reached its output: $(grep -h "$secret" "$d/out" "$d/err")"
	! grep -q PWNED "$d/out" "$d/err" ||
		fail "the library wrote to tlsrec's output: $(grep -h PWNED "$d/out" "$d/err")"
	[ ! -e "$root/tmp/hostile-written" ] && [ ! -e /tmp/hostile-written ] ||
		fail "the library wrote a file: $(cat "$root/tmp/hostile-written" /tmp/hostile-written 2>&1)"
	[ ! -s "$d/conn" ] || fail "the library connected to the host: $(cat "$d/conn")"
	[ -z "$left" ] || fail "the calibration left processes behind: $left"

	block=$(awk -v p="/proc/$user/root$lib" '$0 == p { on = 1; print; next } /^[^ ]/ { on = 0 } on' "$d/out")
	grep -q "not calibrated: " <<<"$block" ||
		fail "--list-targets does not say the user's library is not calibrated: $(cat "$d/out")"
	grep -q "; calibrated; hook at file offset" "$d/out" ||
		fail "--list-targets calibrated nothing after the user's library: $(cat "$d/out")"
	note "$(grep -A1 "^/proc/$user/root$lib" "$d/out" | tail -1)"
done

sleeper=$d/sleeper
user_root "$sleeper" "$HOSTILE_SLEEPER"
sleeping=$MAPPER
start=$SECONDS
rc=0
timeout 60 "$TLSREC" --list-targets >"$d/out" 2>"$d/err" </dev/null || rc=$?
took=$((SECONDS - start))
root=$sleeper user=$sleeping
left=$(left_in_root)
for p in $(cut -d: -f1 <<<"$left"); do kill -KILL "$p" 2>/dev/null || true; done
[ "$rc" = 0 ] || fail "tlsrec --list-targets exited $rc after $took s: $(cat "$d/err")"
[ "$took" -lt 15 ] || fail "tlsrec --list-targets waited $took s for a library that answered"
[ -z "$left" ] || fail "the calibration left processes behind: $left"
block=$(awk -v p="/proc/$user/root$lib" '$0 == p { on = 1; print; next } /^[^ ]/ { on = 0 } on' "$d/out")
grep -q "not calibrated: the calibration process answered nonsense" <<<"$block" ||
	fail "--list-targets took the sleeper's answer: $(cat "$d/out")"
note "a library that answers and sleeps: done in $took s"

# A root-owned libssl in a user's root (bind-mounted there in the user's own mount namespace) is
# calibrated beside root's libraries, not beside the user's libcrypto.so.3 (the sleeper again),
# which would answer for it: the same hook as the system's copy of that build.
system=$(ldd "$(command -v openssl)" | grep -o '/[^ ]*/libssl\.so[^ ]*')
mkdir -m 755 "$d/victim"
cp "$system" "$d/victim/libssl.so.3"
croot=$d/croot
mkdir -p "$croot$(dirname $lib)" "$croot/proc"
cp "$HOSTILE_SLEEPER" "$croot$(dirname $lib)/libcrypto.so.3"
touch "$croot$lib"
cp "$MAPLIB" "$croot/maplib"
chown -R 4242:4242 "$croot"
setpriv --reuid=4242 --regid=4242 --clear-groups unshare -Urm sh -c \
	'mount --bind "$0" "$1$2" && exec chroot "$1" /maplib "$2"' "$d/victim/libssl.so.3" "$croot" \
	$lib >"$d/croot.log" 2>&1 &
bound=$!
E2E_PIDS+=("$bound")
wait_for "$d/croot.log" mapped
want=$("$TLSREC" --list-targets --libssl "$system" 2>&1 |
	awk -v p="$(realpath "$system")" '$0 == p { on = 1; next } /^[^ ]/ { on = 0 } on' |
	sed -n 's/.*; calibrated; hook at file offset \(0x[0-9a-f]*\) .*/\1/p')
[ -n "$want" ] || fail "no hook for $system"
rc=0
timeout 60 "$TLSREC" --list-targets -p "$bound" >"$d/out" 2>"$d/err" </dev/null || rc=$?
[ "$rc" = 0 ] || fail "tlsrec --list-targets -p $bound exited $rc: $(cat "$d/err")"
block=$(awk '/^\/proc\/'"$bound"'\/root/ { on = 1; print; next } /^[^ ]/ { on = 0 } on' "$d/out")
grep -q "; calibrated; hook at file offset $want " <<<"$block" ||
	fail "the root-owned libssl in the user's root is not calibrated as the system's ($want): $(cat "$d/out" "$d/err")"
note "a root-owned libssl in a user's root: calibrated beside root's libraries, hook at $want"
