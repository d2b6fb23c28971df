#!/usr/bin/env bash
# run-vm-rootless.sh: id mapping through a real guest (meson test vm-rootless, suite 'vm', TAP on
# stdout; two boots, ~1 min in all on TCG). Must run as root (to make the user and its shares).
#
#   tests/vm/run-vm-rootless.sh VFSD_BINARY
#
# Boot 1, rootless: the ordinary user vfsd-test (created with useradd if missing, given
# subordinate ids 300000:65536 in /etc/subuid and /etc/subgid unless it has some) runs every
# daemon and QEMU itself, without capabilities (setpriv; the set-uid newuidmap/newgidmap of
# Debian's uidmap write the maps). One guest, one share per daemon:
#   lv    vfsd with libvirt's session-mode form of <idmap> (README's --uid-map=:0:100000:65536:
#         with the user's own subordinate base, and the same for gids): guest root is the
#         subordinate base on the host
#   rN    each ```sh snippet of README.md's "Rootless" section, run as written by the user's
#         /bin/sh with HOME and XDG_RUNTIME_DIR set ("vfsd ..." completed with those paths, the
#         example base 100000 replaced by the user's subordinate base)
#   rust  the Rust virtiofsd 1.13 with lv's maps: its results are printed as "# rust differs"
#         diagnostics where they are not vfsd's, never failures
# Boot 2, as root: vfsd with --translate-uid/--translate-gid:
#   sq    README's inline example (squash-guest onto host uid 1000, host 1000 shown as root)
#   tm    map:0:400000:65536 for both ids and forbid-guest for every id above the map
#   rust-tm  the Rust virtiofsd with tm's rules (diagnostics, as rust)
# In each share the guest's root (tests/vm/guest_rootless.sh) creates files and directories,
# has guest uid 1000 create some, chowns to an id inside the map and to one outside it (70000)
# and reads owners; the host then checks every result and every host owner. A chown to an id
# a user namespace cannot name fails with EINVAL (what chown(2) answers in such a namespace);
# forbid-guest answers EPERM. Missing assets are a failure, never a skip.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
[ $# -eq 1 ] || {
	echo "usage: $0 VFSD_BINARY" >&2
	exit 2
}
vfsd_bin="$(readlink -f "$1")"

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
vm_script_start vm-rootless
user=vfsd-test
out_id=70000

finished=0
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	vm_kill_daemons
	if [ "$finished" = 0 ]; then
		tap not-ok "the test ran to its end" "aborted, see the error above; kept $base"
		echo "1..$n"
	fi
}
trap cleanup EXIT
finish() {
	finished=1
	vm_finish vm-rootless "$base" "$@"
}

if [ "$(id -u)" != 0 ]; then
	tap not-ok "runs as root" "it creates the user $user and shares owned by other ids"
	finish
fi

# 1. the user, its subordinate ids and a copy of vfsd it can run (the build tree may be private)
if ! getent passwd "$user" >/dev/null; then
	useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
fi
for f in /etc/subuid /etc/subgid; do
	grep -q "^$user:" "$f" 2>/dev/null || echo "$user:300000:65536" >>"$f"
done
uid=$(id -u "$user")
gid=$(id -g "$user")
IFS=: read -r _ subu cntu < <(grep -m1 "^$user:" /etc/subuid)
IFS=: read -r _ subg cntg < <(grep -m1 "^$user:" /etc/subgid)
# shellcheck disable=SC2317 # called by check
enough_ids() { [ "$cntu" -ge 65536 ] && [ "$cntg" -ge 65536 ]; }
check "$user: uid $uid, subordinate uids $subu:$cntu and gids $subg:$cntg (65536 needed)" \
	"fewer than 65536 subordinate ids" enough_ids
# shellcheck disable=SC2317 # called by check
have_uidmap() { command -v newuidmap && command -v newgidmap; } >/dev/null
check "newuidmap and newgidmap installed (Debian's uidmap)" "apt-get install uidmap" have_uidmap
mkdir -p "$base/bin"
install -m 0755 "$vfsd_bin" "$base/bin/vfsd"
# as_user COMMAND...: COMMAND as the user, no supplementary groups, no capabilities (the
# bounding set stays: the set-uid newuidmap needs it).
as_user=(setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all)
# LeakSanitizer's exit-time ptrace is not for an unprivileged process (an ASan build, as in
# tests/run-all.sh with VFSD_ASAN_VM=1); harmless otherwise.
asan_env="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

# 2. the README's snippets
mapfile -d '' snippets < <(python3 "$here/readme_snippets.py" "$repo/README.md" Rootless)
sh_snippets=()
idmap_opt=""
translate_opt=""
for s in "${snippets[@]}"; do
	case "$s" in
	"sh "*) sh_snippets+=("${s#sh }") ;;
	"opt --uid-map="*) idmap_opt="${s#opt }" ;;
	"opt --translate-"*) translate_opt="${s#opt }" ;;
	*) echo "# README Rootless: snippet not run: $s" ;;
	esac
done
# shellcheck disable=SC2317 # called by check
all_found() { [ "${#sh_snippets[@]}" -ge 1 ] && [ -n "$idmap_opt" ] && [ -n "$translate_opt" ]; }
check "README Rootless: ${#sh_snippets[@]} sh snippets, libvirt's --uid-map line, a --translate-uid example" \
	"found: ${snippets[*]}" all_found

vm_assets_tap || finish
vm_hostroot_initramfs
vm_daemon_cmd "$vfsd_bin"
read -r -a user_flags <<<"${VFSD_VM_FLAGS:---xattr}"
mapfile -t fs_flags < <(vm_fs_daemon_flags vfsd)

# Per share: its directory, the daemon's name in lib.sh, and what the guest and the host must
# see (E[share.key], read by judge below).
declare -A SHARE=() E=()
shares1=()
# new_share NAME OWNER: a fresh share directory owned by OWNER (uid:gid)
new_share() {
	mkdir -p "$base/$1/share"
	chmod 0755 "$base/$1" "$base/$1/share"
	chown "$2" "$base/$1/share"
	SHARE[$1]="$base/$1/share"
}
# host_files NAME MAPPED UNMAPPED: the host's two files, owned by MAPPED and by UNMAPPED.
host_files() {
	echo host >"${SHARE[$1]}/host-mapped"
	echo host >"${SHARE[$1]}/host-unmapped"
	chown "$2" "${SHARE[$1]}/host-mapped"
	chown "$3" "${SHARE[$1]}/host-unmapped"
}
# expect NAME KEY=VALUE...: see judge
expect() {
	local s="$1" kv
	shift
	for kv in "$@"; do E[$s.${kv%%=*}]="${kv#*=}"; done
}
own="$uid:$gid"
sub() { echo "$((subu + $1)):$((subg + $1))"; } # host ids of namespace id SUB_BASE+N

# 3. boot 1: everything as the user
# lv: libvirt's <idmap><uid start='0' target='BASE' count='65536'/> (and <gid .../>)
lv_uid="${idmap_opt//100000/$subu}"
lv_gid="${idmap_opt//100000/$subg}"
lv_gid="${lv_gid/--uid-map/--gid-map}"
new_share lv "$(sub 0)"
host_files lv "$(sub 5)" "$own"
# guest root is the base; ids outside 0..65535 cannot be named: chown EINVAL; guest uid 70000
# creating: vfsd cannot take an id its namespace lacks (EINVAL)
expect lv root="$(sub 0)" user="$(sub 1000)" chown=ok chown_host="$(sub 1000)" \
	out="fail:Invalid argument" out_host="$(sub 0)" asout="fail:Invalid argument" \
	seen_root=0:0 seen_user=1000:1000 seen_chown=1000:1000 seen_mapped=5:5 \
	seen_unmapped=65534:65534
VM_DAEMON=("${as_user[@]}" env "$asan_env" "$base/bin/vfsd")
# The maps describe the namespace sandbox: asked for even where VFSD_VM_FLAGS has another
# (the sanitizer pass's --sandbox=none).
VM_DAEMON_FLAGS=("${user_flags[@]}" --sandbox=namespace)
mkdir -p "$base/lv/run"
chown "$uid:$gid" "$base/lv/run"
vm_start_daemon lv "$base/lv/run/vfsd.sock" "${SHARE[lv]}" "$base/lv/daemon.log" \
	"${fs_flags[@]}" "$lv_uid" "$lv_gid"
echo "# lv: $lv_uid $lv_gid"
shares1+=(lv)

# rN: the README's sh snippets, as written, run by the user's shell
i=0
for s in "${sh_snippets[@]}"; do
	i=$((i + 1))
	r="r$i"
	home="$base/$r/home"
	mkdir -p "$home/share" "$base/$r/run"
	chmod 0700 "$base/$r/run"
	chown -R "$uid:$gid" "$home" "$base/$r/run"
	chmod 0755 "$base/$r" "$home" "$home/share"
	SHARE[$r]="$home/share"
	# "vfsd ..." stands for the first snippet's options; the example base is the user's own
	s="${s/vfsd .../vfsd --socket-path=\"\$XDG_RUNTIME_DIR/vfsd.sock\" --shared-dir=\"\$HOME/share\"}"
	s=$(sed "s/--uid-map=\(:[0-9]*:\)100000:/--uid-map=\1$subu:/g; s/--gid-map=\(:[0-9]*:\)100000:/--gid-map=\1$subg:/g" <<<"$s")
	printf "# README snippet %s, run by %s: %s\n" "$r" "$user" "$(printf "%s" "$s" | tr "\n" " ")"
	if [[ "$s" == *--uid-map=* ]]; then
		# the user's own ids as 0, subordinate ids as 1..65536: guest 1000 is BASE + 999
		host_files "$r" "$(sub 5)" 0:0
		expect "$r" root="$own" user="$(sub 999)" chown=ok chown_host="$(sub 999)" \
			out="fail:Invalid argument" out_host="$own" asout="fail:Invalid argument" \
			seen_root=0:0 seen_user=1000:1000 seen_chown=1000:1000 seen_mapped=6:6 \
			seen_unmapped=65534:65534
	else
		# only the user's own ids, as 0: everything the guest creates is the user's, other
		# ids cannot be given
		host_files "$r" "$own" 0:0
		expect "$r" root="$own" user="$own" chown="fail:Invalid argument" chown_host="$own" \
			out="fail:Invalid argument" out_host="$own" asout=ok asout_host="$own" \
			seen_root=0:0 seen_user=0:0 seen_chown=0:0 seen_mapped=0:0 \
			seen_unmapped=65534:65534
	fi
	# The snippet ignores the --socket-path/--shared-dir vm_start_daemon appends ($1, $2, ...).
	VM_DAEMON=("${as_user[@]}" env -i "$asan_env" HOME="$home" XDG_RUNTIME_DIR="$base/$r/run"
		PATH="$base/bin:/usr/bin:/bin" /bin/sh -c "$s" sh)
	VM_DAEMON_FLAGS=()
	vm_start_daemon "$r" "$base/$r/run/vfsd.sock" "$home/share" "$base/$r/daemon.log"
	shares1+=("$r")
done

# rust: the Rust virtiofsd with lv's maps, for comparison
rust_cmd=""
if rust_cmd=$("$repo/tests/tools/rust-virtiofsd.sh" path) && [ -n "$rust_cmd" ]; then
	new_share rust "$(sub 0)"
	host_files rust "$(sub 5)" "$own"
	for k in root user chown chown_host out out_host asout seen_root seen_user seen_chown \
		seen_mapped seen_unmapped; do
		E[rust.$k]="${E[lv.$k]}"
	done
	read -r -a rust_argv <<<"$rust_cmd"
	VM_DAEMON=("${as_user[@]}" "${rust_argv[@]}")
	VM_DAEMON_FLAGS=(--xattr)
	mkdir -p "$base/rust/run"
	chown "$uid:$gid" "$base/rust/run"
	vm_start_daemon rust "$base/rust/run/vfsd.sock" "${SHARE[rust]}" "$base/rust/daemon.log" \
		"$lv_uid" "$lv_gid"
	shares1+=(rust)
else
	tap not-ok "rust virtiofsd available" "tests/tools/rust-virtiofsd.sh path failed"
	rust_cmd=""
fi

# No process of a daemon holds a capability in the host's user namespace, none is host root.
host_ns=$(readlink /proc/self/ns/user)
# tree PID: PID and its descendants
tree() {
	local c
	echo "$1"
	# shellcheck disable=SC2013 # pids, space separated
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do tree "$c"; done
}
for s in "${shares1[@]}"; do
	bad=""
	for p in $(tree "${VM_DAEMON_PID[$s]}"); do
		ruid=$(awk '/^Uid:/ { print $2 }' /proc/"$p"/status 2>/dev/null) || continue
		capeff=$(awk '/^CapEff:/ { print $2 }' /proc/"$p"/status 2>/dev/null)
		ns=$(readlink /proc/"$p"/ns/user 2>/dev/null)
		[ "$ruid" != 0 ] || bad+=" pid $p is root;"
		[ "$ns" != "$host_ns" ] || [ "$capeff" = 0000000000000000 ] ||
			bad+=" pid $p has capabilities $capeff in the host's user namespace;"
	done
	check "boot 1: daemon '$s' runs as an ordinary user, no capability on the host" "$bad" \
		[ -z "$bad" ]
done

# boot RESULTS NAME...: one guest on the shares NAME..., guest_rootless.sh on each, its record
# in RESULTS/NAME.guest; QEMU is ${qemu_cmd[@]}.
boot() {
	local results="$1" s i=0 q=() gscript
	shift
	mkdir -p "$results"
	gscript=$(vm_guest_path "$results" "$here/guest_rootless.sh")
	{
		for s in "$@"; do
			echo "sh $gscript /run/vfsd/$s $out_id >/run/vfsd/results/$s.guest 2>&1"
		done
	} >"$results/guest-cmd.sh"
	printf 'VIRTIOFS_MOUNTS="%s"\nTMPFS_TMP=1\n' "$(for s in "$@"; do printf '%s:/run/vfsd/%s ' "$s" "$s"; done)" \
		>"$results/guest.conf"
	mapfile -t -O "${#q[@]}" q < <(vm_dev_9p / hostroot ro)
	mapfile -t -O "${#q[@]}" q < <(vm_dev_9p "$results" results rw)
	for s in "$@"; do
		if [[ "$s" == rust* ]]; then
			# one request queue: all the Rust virtiofsd serves
			mapfile -t -O "${#q[@]}" q < <(VFSD_DAEMON_CMD=rust-virtiofsd vm_dev_virtiofs \
				"${sock[$s]}" "$s" "$i")
		else
			mapfile -t -O "${#q[@]}" q < <(vm_dev_virtiofs "${sock[$s]}" "$s" "$i")
		fi
		i=$((i + 1))
	done
	local t0
	t0=$(date +%s)
	VFSD_VM_QEMU="${qemu_cmd[*]}" vm_qemu "$results/serial.log" "${q[@]}" >&2
	say "QEMU exited with status $VM_QEMU_RC after $(($(date +%s) - t0))s"
	boot_secs+=("$(($(date +%s) - t0))")
	check "QEMU exited normally" "status $VM_QEMU_RC (see $results/serial.log)" [ "$VM_QEMU_RC" = 0 ]
	vm_queue_check "$results/interrupts"
	for s in "$@"; do
		local st=0
		vm_stop_daemon "$s" || st=1
		check "daemon '$s' exits with status 0 after QEMU quit" \
			"status $VM_DAEMON_STATUS, see $base/$s/daemon.log" [ "$st" = 0 ]
	done
}
boot_secs=()
declare -A sock=()
for s in "${shares1[@]}"; do sock[$s]="$base/$s/run/vfsd.sock"; done

# QEMU as the user too: memfd guest memory, TCG, the user's own sockets; a wrapper records
# QEMU's credentials.
case "${VFSD_VM_QEMU:-}" in
"") qemu=(qemu-system-x86_64) ;;
sid)
	out=$("$repo/tests/tools/sid-qemu.sh") || vm_die "no sid QEMU (tests/tools/sid-qemu.sh failed)"
	eval "$out"
	qemu=("$SID_QEMU")
	;;
*) read -r -a qemu <<<"$VFSD_VM_QEMU" ;;
esac
cat >"$base/bin/qemu-creds" <<EOF
#!/bin/sh
grep -E '^(Uid|CapEff|CapPrm):' /proc/self/status >"$base/results1/qemu-creds"
exec "\$@"
EOF
chmod 0755 "$base/bin/qemu-creds"
mkdir -p "$base/results1"
chown "$uid:$gid" "$base/results1"
qemu_cmd=("${as_user[@]}" "$base/bin/qemu-creds" "${qemu[@]}")
# KVM only where the user may open /dev/kvm
"${as_user[@]}" test -w /dev/kvm 2>/dev/null || export VFSD_VM_ACCEL=tcg
say "boot 1: shares ${shares1[*]}, QEMU and daemons as $user ($uid:$gid)"
boot "$base/results1" "${shares1[@]}"
# shellcheck disable=SC2317 # called by check
qemu_unprivileged() {
	local c="$base/results1/qemu-creds"
	grep -q "^Uid:[[:space:]]*${uid}[[:space:]]" "$c" &&
		grep -q '^CapEff:[[:space:]]*0000000000000000$' "$c" &&
		grep -q '^CapPrm:[[:space:]]*0000000000000000$' "$c"
}
check "boot 1: QEMU ran as $user without capabilities" \
	"$(tr '\n' ' ' <"$base/results1/qemu-creds" 2>/dev/null || echo 'no record')" \
	qemu_unprivileged
unset VFSD_VM_ACCEL

# 4. boot 2, as root: --translate-uid/--translate-gid
# sq: the README's example: every guest uid creates as host 1000, host 1000 is shown as root;
# gids pass unchanged
new_share sq 0:0
host_files sq 1000:0 5:5
read -r -a sq_flags <<<"$translate_opt"
expect sq root=1000:0 user=1000:1000 chown=ok chown_host=1000:1000 out=ok \
	out_host="1000:$out_id" asout=ok asout_host="1000:$out_id" \
	seen_root=0:0 seen_user=0:1000 seen_chown=0:1000 seen_mapped=0:0 seen_unmapped=5:5
# tm: both ways onto 400000.., every guest id above the map forbidden; host ids the map does
# not cover are shown unchanged
new_share tm 400000:400000
host_files tm 400005:400005 7:7
tm_flags=(--translate-uid=map:0:400000:65536 --translate-uid=forbid-guest:65536:4294901760
	--translate-gid=map:0:400000:65536 --translate-gid=forbid-guest:65536:4294901760)
expect tm root=400000:400000 user=401000:401000 chown=ok chown_host=401000:401000 \
	out="fail:Operation not permitted" out_host=400000:400000 \
	asout="fail:Operation not permitted" \
	seen_root=0:0 seen_user=1000:1000 seen_chown=1000:1000 seen_mapped=5:5 seen_unmapped=7:7
vm_daemon_cmd "$vfsd_bin"
sock[sq]="$base/sq/vfsd.sock"
vm_start_daemon sq "${sock[sq]}" "${SHARE[sq]}" "$base/sq/daemon.log" "${fs_flags[@]}" \
	"${sq_flags[@]}"
sock[tm]="$base/tm/vfsd.sock"
vm_start_daemon tm "${sock[tm]}" "${SHARE[tm]}" "$base/tm/daemon.log" "${fs_flags[@]}" \
	"${tm_flags[@]}"
shares2=(sq tm)
echo "# boot 2: sq ${sq_flags[*]}; tm ${tm_flags[*]}"
# rust-tm: the Rust virtiofsd with tm's rules, for comparison
if [ -n "$rust_cmd" ]; then
	new_share rust-tm 400000:400000
	host_files rust-tm 400005:400005 7:7
	for k in root user chown chown_host out out_host asout seen_root seen_user seen_chown \
		seen_mapped seen_unmapped; do
		E[rust-tm.$k]="${E[tm.$k]}"
	done
	sock[rust-tm]="$base/rust-tm/vfsd.sock"
	VM_DAEMON=("${rust_argv[@]}")
	VM_DAEMON_FLAGS=(--xattr)
	vm_start_daemon rust-tm "${sock[rust-tm]}" "${SHARE[rust-tm]}" "$base/rust-tm/daemon.log" \
		"${tm_flags[@]}"
	shares2+=(rust-tm)
fi
vm_qemu_cmd
qemu_cmd=("${VM_QEMU[@]}")
say "boot 2: shares ${shares2[*]}, as root"
boot "$base/results2" "${shares2[@]}"

# 5. the verdicts
# judge NAME RESULTS: the checks of share NAME. E[NAME.KEY]:
#   root, user            host owner of what guest root / guest uid 1000 created
#   chown, out, asout     result of chown 1000:1000, of chown and chgrp to $out_id and of
#                         guest uid $out_id creating: ok or fail:MESSAGE
#   chown_host, out_host, asout_host   host owner after them ("absent" when not created)
#   seen_*                the owner the guest was shown
# For rust*, a check that fails is a "# rust differs" diagnostic.
judge() {
	local s="$1" g="$2/$1.guest" dir="${SHARE[$1]}" p="$1: " want got f
	diff_only=0
	[[ "$s" == rust* ]] && diff_only=1
	res() { sed -n "s/^op $1 //p" "$g"; }
	seen() { sed -n "s|^seen $1 ||p" "$g"; }
	host() { stat -c %u:%g "$dir/$1" 2>/dev/null || echo absent; }
	# is WHAT WANT GOT: the check "WHAT: WANT"
	is() {
		if [ "$2" = "$3" ]; then
			tap ok "$p$1: $2"
		elif [ "$diff_only" = 1 ]; then
			echo "# rust differs: $1: wanted '$2', got '$3'"
		else
			tap not-ok "$p$1: $2" "got '$3'"
		fi
	}
	# result OP WANT: WANT is ok or fail:MESSAGE (MESSAGE ends the error line)
	result() {
		got=$(res "$1")
		[[ "$2" == fail:* && "$got" == fail*"${2#fail:}" ]] && got="$2"
		is "$1" "$2" "$got"
	}
	if ! grep -qx 'done' "$g" 2>/dev/null; then
		is "the guest ran its actions" 'done' "$(tail -n 1 "$g" 2>/dev/null || echo 'no record')"
		return 0
	fi
	for f in create-root mkdir-root mkdir-open create-chown create-out read-host-mapped \
		create-user mkdir-user; do
		result "$f" ok
	done
	for f in f-root d-root d-open; do is "host owner of $f (guest root's)" "${E[$s.root]}" "$(host "$f")"; done
	for f in d-open/f-user d-open/d-user; do
		is "host owner of $f (guest uid 1000's)" "${E[$s.user]}" "$(host "$f")"
	done
	result chown-in "${E[$s.chown]}"
	is "host owner of f-chown after chown 1000:1000" "${E[$s.chown_host]}" "$(host f-chown)"
	result chown-out "${E[$s.out]}"
	result chgrp-out "${E[$s.out]}"
	is "host owner of f-out after chown/chgrp $out_id" "${E[$s.out_host]}" "$(host f-out)"
	result create-as-out "${E[$s.asout]}"
	is "host owner of what guest uid $out_id created" "${E[$s.asout_host]:-absent}" \
		"$(host d-open/f-as-out)"
	is "guest sees f-root as" "${E[$s.seen_root]}" "$(seen f-root)"
	is "guest sees d-open/f-user as" "${E[$s.seen_user]}" "$(seen d-open/f-user)"
	is "guest sees f-chown as" "${E[$s.seen_chown]}" "$(seen f-chown)"
	is "guest sees host-mapped ($(host host-mapped) on the host) as" "${E[$s.seen_mapped]}" \
		"$(seen host-mapped)"
	is "guest sees host-unmapped ($(host host-unmapped) on the host) as" \
		"${E[$s.seen_unmapped]}" "$(seen host-unmapped)"
}
for s in "${shares1[@]}"; do judge "$s" "$base/results1"; done
for s in "${shares2[@]}"; do judge "$s" "$base/results2"; done

vm_accel
vm_daemon_cmd "$vfsd_bin" # for the summary's "daemon:" line
finish "boots:       ${boot_secs[*]} s (rootless, translate)" \
	"shares:      ${shares1[*]} as $user; ${shares2[*]} as root"
