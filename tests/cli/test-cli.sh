#!/usr/bin/env bash
# The vfsd binary's command line and socket handling, driven as users and libvirt drive it:
# one-line errors with status 1 before anything is created, --print-capabilities JSON,
# stale sockets replaced, live ones refused, an inherited --fd, clean exit on SIGTERM.
# Output is TAP.
set -uo pipefail

VFSD=$(readlink -f "$1")
T=$(mktemp -d /tmp/vfsd-cli.XXXXXX)
mkdir "$T/share"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else notok "$1"; fi; }

wait_socket() {
	for _ in $(seq 100); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# Errors: exactly one line on stderr, status 1, nothing created.
"$VFSD" --bogus-option >"$T/out" 2>"$T/err"
check "unknown option: status 1" "[ $? -eq 1 ]"
check "unknown option: one line" "[ \$(wc -l <'$T/err') -eq 1 ]"

"$VFSD" --socket-path="$T/s1" --shared-dir="$T/missing" 2>"$T/err"
check "missing shared dir: status 1" "[ $? -eq 1 ]"
check "missing shared dir: one line" "[ \$(wc -l <'$T/err') -eq 1 ]"
check "missing shared dir: no socket created" "[ ! -e '$T/s1' ]"

"$VFSD" --socket-path="$T/s1" --shared-dir="$T/share" --cache=sometimes 2>"$T/err"
check "bad --cache value: status 1" "[ $? -eq 1 ] && [ \$(wc -l <'$T/err') -eq 1 ] && [ ! -e '$T/s1' ]"

"$VFSD" --shared-dir="$T/share" 2>"$T/err"
check "no socket option: status 1" "[ $? -eq 1 ] && [ \$(wc -l <'$T/err') -eq 1 ]"

"$VFSD" --socket-path="$T/s1" --shared-dir="$T/share" --inode-file-handles=mandatory \
	--inode-file-handles=bogus 2>"$T/err"
check "--inode-file-handles=bogus: status 1, nothing created" \
	"[ $? -eq 1 ] && [ \$(wc -l <'$T/err') -eq 1 ] && [ ! -e '$T/s1' ]"

"$VFSD" --socket-path="$T/s1" --shared-dir="$T/share" --xattrmap=":prefix:client:trusted." 2>"$T/err"
check "bad --xattrmap: status 1, one line naming the rule, nothing created" \
	"[ $? -eq 1 ] && [ \$(wc -l <'$T/err') -eq 1 ] && grep -q 'rule 1' '$T/err' && [ ! -e '$T/s1' ]"

"$VFSD" --socket-path="$T/s1" --shared-dir="$T/share" --killpriv-v2 \
	--xattrmap=":map::user.virtiofs.:" 2>"$T/err"
check "--killpriv-v2 with a remapped security.capability: status 1" \
	"[ $? -eq 1 ] && [ \$(wc -l <'$T/err') -eq 1 ] && [ ! -e '$T/s1' ]"

# mandatory is accepted (frontend-scale exercises it); with the default sandbox it keeps
# CAP_DAC_READ_SEARCH for open_by_handle_at().
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "$VFSD" --socket-path="$T/s4" \
	--shared-dir="$T/share" --inode-file-handles=mandatory 2>"$T/d4.err" &
d4=$!
pids+=("$d4")
wait_socket "$T/s4"
check "--inode-file-handles=mandatory: accepted, daemon running" "kill -0 $d4 2>/dev/null"
kill -TERM "$d4"
wait "$d4"
check "--inode-file-handles=mandatory: SIGTERM gives status 0" "[ $? -eq 0 ]"

"$VFSD" --print-capabilities >"$T/caps"
check "--print-capabilities: status 0" "[ $? -eq 0 ]"
check "--print-capabilities: JSON of type fs" \
	"python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d[\"type\"]==\"fs\"' '$T/caps'"
check "--version" "'$VFSD' --version >'$T/version' && grep -q '^vfsd ' '$T/version'"
"$VFSD" --help >"$T/help"
check "--help: status 0, mentions --shared-dir" "[ $? -eq 0 ] && grep -q -- '--shared-dir' '$T/help'"

# A stale socket file (nobody listening) is replaced.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$T/s2"
"$VFSD" --socket-path="$T/s2" --shared-dir="$T/share" --sandbox=none --seccomp=none \
	2>"$T/d1.err" &
d1=$!
pids+=("$d1")
sleep 0.5
check "stale socket replaced: daemon running" "kill -0 $d1 2>/dev/null"
# Connecting would make us its frontend (and it exits when we leave): check the files.
check "stale socket replaced: new socket, pid file names the daemon" \
	"[ -S '$T/s2' ] && [ \"\$(cat '$T/s2.pid')\" = $d1 ]"

# A socket a live daemon listens on is refused.
"$VFSD" --socket-path="$T/s2" --shared-dir="$T/share" --sandbox=none --seccomp=none 2>"$T/err"
check "live socket refused: status 1" "[ $? -eq 1 ]"
check "live socket refused: clear error" "grep -q 'already listening' '$T/err'"
check "live socket refused: first daemon unharmed" "kill -0 $d1 2>/dev/null && [ -S '$T/s2' ]"

# SIGTERM: clean exit, status 0, socket removed.
kill -TERM "$d1"
wait "$d1"
check "SIGTERM: status 0" "[ $? -eq 0 ]"
check "SIGTERM: socket and pid file removed" "[ ! -e '$T/s2' ] && [ ! -e '$T/s2.pid' ]"

# The default sandbox (namespace) supervisor also exits 0 and removes the socket. (In a
# sanitizer build LeakSanitizer cannot run inside the sandbox: it needs ptrace.)
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "$VFSD" --socket-path="$T/s3" --shared-dir="$T/share" 2>"$T/d3.err" &
d3=$!
pids+=("$d3")
wait_socket "$T/s3"
sleep 0.3
check "namespace sandbox: daemon running" "kill -0 $d3 2>/dev/null"
kill -TERM "$d3"
wait "$d3"
check "namespace sandbox: SIGTERM gives status 0" "[ $? -eq 0 ]"
check "namespace sandbox: socket and pid file removed" "[ ! -e '$T/s3' ] && [ ! -e '$T/s3.pid' ]"

# An inherited listening socket (--fd), as libvirt passes it.
python3 - "$VFSD" "$T" <<'PY' >"$T/fd.out" 2>&1
import os, socket, subprocess, sys, time
vfsd, t = sys.argv[1], sys.argv[2]
path = os.path.join(t, "s4")
ls = socket.socket(socket.AF_UNIX)
ls.bind(path)
ls.listen(1)
fd = ls.fileno()
os.set_inheritable(fd, True)
p = subprocess.Popen([vfsd, f"--fd={fd}", f"--shared-dir={t}/share", "--sandbox=none",
                      "--seccomp=none"], pass_fds=[fd])
ls.close()
time.sleep(0.5)
c = socket.socket(socket.AF_UNIX)
c.connect(path)
c.close()  # frontend gone: the daemon must exit 0
try:
    rc = p.wait(timeout=10)
except subprocess.TimeoutExpired:
    p.kill()
    rc = "timeout"
print("rc", rc)
PY
check "--fd: daemon served the inherited socket and exited 0 on disconnect" "grep -qx 'rc 0' '$T/fd.out'"

"$VFSD" --fd=1 --shared-dir="$T/share" --sandbox=none 2>"$T/err" </dev/null >/dev/null
check "--fd that is not a listening socket: status 1" "[ $? -eq 1 ]"

# --syslog: the daemon runs in its own mount namespace with a private /dev whose /dev/log is our
# datagram socket, so the host's syslog is untouched.
python3 - "$T/log" "$T/syslog.out" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.2)
end = time.time() + 8
with open(sys.argv[2], "w") as out:
    while time.time() < end:
        try:
            out.write(s.recv(4096).decode(errors="replace") + "\n")
            out.flush()
        except socket.timeout:
            pass
PY
listener=$!
for _ in $(seq 50); do [ -S "$T/log" ] && break; sleep 0.1; done
unshare -m bash -c '
	mount --make-rprivate / && mount -t tmpfs vfsd-test /dev && mknod -m 666 /dev/null c 1 3 &&
	touch /dev/log && mount --bind "$1/log" /dev/log &&
	exec "$2" --syslog --socket-path="$1/s5" --shared-dir="$1/share" --sandbox=none --seccomp=none' \
	sh "$T" "$VFSD" 2>"$T/syslog.err" &
d5=$!
pids+=("$d5")
wait_socket "$T/s5"
sleep 0.5
kill -TERM "$d5"
wait "$d5"
rc=$?
# The namespace sandbox's supervisor, under its own seccomp filter, still reaches syslog: it
# reports a daemon killed by a signal, and passes the status on.
unshare -m bash -c '
	mount --make-rprivate / && mount -t tmpfs vfsd-test /dev && mknod -m 666 /dev/null c 1 3 &&
	touch /dev/log && mount --bind "$1/log" /dev/log &&
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	exec "$2" --syslog --socket-path="$1/s6" --shared-dir="$1/share"' \
	sh "$T" "$VFSD" 2>"$T/syslog6.err" &
d6=$!
pids+=("$d6")
wait_socket "$T/s6"
sleep 0.3
d6child=$(pgrep -P "$d6" | head -n 1)
[ -n "$d6child" ] && kill -KILL "$d6child"
wait "$d6"
rc6=$?
sleep 0.3
kill "$listener" 2>/dev/null
wait "$listener" 2>/dev/null
check "--syslog, namespace sandbox: a killed daemon gives status 137" "[ -n '$d6child' ] && [ $rc6 -eq 137 ]"
check "--syslog, namespace sandbox: the supervisor logs it to syslog" \
	"grep -q 'the daemon was killed by signal 9' '$T/syslog.out'"
check "--syslog: status 0 on SIGTERM" "[ $rc -eq 0 ]"
check "--syslog: messages reach syslog, tagged vfsd" \
	"grep -q 'vfsd\[[0-9]*\]: waiting for a vhost-user frontend' '$T/syslog.out'"
check "--syslog: nothing on stderr" "[ ! -s '$T/syslog.err' ]"

# --coherence=table: a file that is not a table is refused before anything is created; a
# daemon creates the table, a second one shares it; the daemon's mirror is freed at exit.
head -c 8192 /dev/zero >"$T/junk-table"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
"$VFSD" --socket-path="$T/s5" --shared-dir="$T/share" --coherence=table \
	--vt-table="$T/junk-table" 2>"$T/err"
check "--vt-table=junk: status 1, nothing created" \
	"[ $? -eq 1 ] && grep -q 'version table' '$T/err' && [ ! -e '$T/s5' ]"
"$VFSD" --socket-path="$T/s5" --shared-dir="$T/share" --tag=t --dax-window=2M \
	--coherence=table --vt-table=/dev/shm/vfsd-cli-$$ 2>"$T/err"
check "--dax-window smaller than twice the table: status 1" \
	"[ $? -eq 1 ] && grep -q 'twice the table' '$T/err'"
rm -f "/dev/shm/vfsd-cli-$$"
for i in 6 7; do
	"$VFSD" --socket-path="$T/s$i" --shared-dir="$T/share" --coherence=table \
		--vt-table="$T/table" --vt-slots=64 2>"$T/d$i.err" &
	eval "d$i=\$!"
	pids+=("$!")
	wait_socket "$T/s$i"
done
check "--coherence=table: two daemons share one table" \
	"kill -0 $d6 && kill -0 $d7 && [ -f '$T/table' ] && grep -q 'mirror 1 of' '$T/d6.err' && \
	grep -q 'mirror 2 of' '$T/d7.err'"
# The daemon logs its watch inside the sandbox, after the socket exists.
for _ in $(seq 50); do
	grep -q 'host changes watched' "$T/d6.err" && break
	sleep 0.1
done
if [ "$(id -u)" -eq 0 ]; then
	check "--coherence=table as root: host changes watched with fanotify, logged once" \
		"[ \$(grep -c 'host changes watched with fanotify' '$T/d6.err') -eq 1 ]"
else
	check "--coherence=table unprivileged: the watch falls back to inotify" \
		"grep -q 'host changes watched with inotify' '$T/d6.err'"
fi
"$VFSD" --socket-path="$T/s9" --shared-dir="$T/share" --vt-watch=inotify 2>"$T/err"
check "--vt-watch without --coherence=table: status 1" \
	"[ $? -eq 1 ] && grep -q 'only apply with --coherence=table' '$T/err'"
"$VFSD" --socket-path="$T/s8" --shared-dir="$T/share" --coherence=table --vt-table="$T/table" \
	--vt-slots=128 2>"$T/err"
check "--vt-slots other than a live table's: status 1, says it is in use" \
	"[ $? -eq 1 ] && grep -q 'in use by a running vfsd' '$T/err' && [ ! -e '$T/s8' ]"

# Upgrades: a table an older vfsd left (layout 1: the private layout field at byte 264 of
# the file) is refused while that daemon runs, with what to do, and replaced once it stopped.
"$VFSD" --socket-path="$T/s10" --shared-dir="$T/share" --coherence=table \
	--vt-table="$T/old-table" --vt-slots=64 2>"$T/d10.err" &
d10=$!
pids+=("$d10")
wait_socket "$T/s10"
printf '\001\000\000\000' | dd of="$T/old-table" bs=1 seek=264 conv=notrunc status=none
layout_of() { od -An -tu4 -j264 -N4 "$1" | tr -d ' '; }
old_ino=$(stat -c %i "$T/old-table")
"$VFSD" --socket-path="$T/s11" --shared-dir="$T/share" --coherence=table \
	--vt-table="$T/old-table" 2>"$T/err"
check "--vt-table of layout 1 in use: status 1, nothing created" \
	"[ $? -eq 1 ] && [ ! -e '$T/s11' ] && [ \$(stat -c %i '$T/old-table') = $old_ino ] && \
	[ \$(layout_of '$T/old-table') = 1 ]"
check "--vt-table of layout 1 in use: the message names file, layout, use and remedy" \
	"grep -q 'version table $T/old-table (layout 1, 64 slots) is in use by a running vfsd, and this vfsd needs layout 2: stop the daemons that use it, or give this one another --vt-table' '$T/err'"
kill -TERM "$d10"
wait "$d10"
"$VFSD" --socket-path="$T/s11" --shared-dir="$T/share" --coherence=table \
	--vt-table="$T/old-table" 2>"$T/d11.err" &
d11=$!
pids+=("$d11")
wait_socket "$T/s11"
check "--vt-table of layout 1 unused: replaced, the daemon starts on a new table" \
	"kill -0 $d11 && [ \$(layout_of '$T/old-table') = 2 ] && \
	[ \$(grep -c 'replaced the unused version table $T/old-table (layout 1, 64 slots)' '$T/d11.err') -eq 1 ] && \
	grep -q 'mirror 1 of' '$T/d11.err'"
kill -TERM "$d11"
wait "$d11"
check "--vt-table replaced: SIGTERM gives status 0" "[ $? -eq 0 ]"
kill -TERM "$d6" "$d7"
wait "$d6"
r6=$?
wait "$d7"
check "--coherence=table: SIGTERM gives status 0" "[ $r6 -eq 0 ] && [ $? -eq 0 ]"

echo "1..$n"
exit $((fails > 0))
