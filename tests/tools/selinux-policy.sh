#!/usr/bin/env bash
# selinux-policy.sh: a binary SELinux policy for test guests, built from Debian's reference
# policy without installing anything on the host.
#
#   tests/tools/selinux-policy.sh        prints SELINUX_POLICY=/path/policy.33 (for eval)
#
# `apt-get download`s selinux-policy-default (the refpolicy modules, .pp.bz2), policycoreutils
# (its /usr/libexec/selinux/hll/pp turns a module into CIL) and secilc (compiles CIL; both link
# libsepol2: the host's if installed, else it is downloaded and unpacked too) into $VFSD_CACHE/selinux (default /var/cache/vfsd-test), unpacks
# them with dpkg-deb -x, converts every module and compiles them with one extra rule,
#   (fsuse xattr virtiofs ...)
# which Debian's bookworm policy lacks (Fedora's has it): without it a guest labels no virtiofs
# inode from its security.selinux and selects no label for a new one. A second run with a warm
# cache does no network access and no work.
set -euo pipefail

CACHE="${VFSD_CACHE:-/var/cache/vfsd-test}"
dir="$CACHE/selinux"
log() { printf 'selinux-policy: %s\n' "$*" >&2; }
die() { log "ERROR: $*" && exit 1; }

out="$dir/policy.33"
mkdir -p "$dir"
exec 9>"$dir/.lock" # one builder at a time
flock 9
if [ -s "$out" ] && [ -f "$dir/.built" ]; then
	echo "SELINUX_POLICY=$out"
	exit 0
fi
mkdir -p "$dir/debs"
cd "$dir/debs"
pkgs=(selinux-policy-default policycoreutils secilc)
dpkg-query -W -f='${Status}' libsepol2 2>/dev/null | grep -q 'install ok installed' ||
	pkgs+=(libsepol2)
for p in "${pkgs[@]}"; do
	ls "${p}"_*.deb >/dev/null 2>&1 && continue
	log "apt-get download $p"
	# apt's _apt user cannot write the cache: it downloads as root (a warning, no failure)
	apt-get download -q "$p" >&2 2>/dev/null || {
		apt-get update -qq >&2 || die "apt-get update failed"
		apt-get download -q "$p" >&2 2>/dev/null || die "apt-get download $p failed"
	}
done
rm -rf "$dir/root" "$dir/cil" "$dir/.built"
mkdir -p "$dir/root" "$dir/cil"
for d in ./*.deb; do dpkg-deb -x "$d" "$dir/root"; done
lib="$dir/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
n=0
for m in "$dir"/root/usr/share/selinux/default/*.pp.bz2; do
	name="${m##*/}"
	name="${name%.pp.bz2}"
	bzcat "$m" | LD_LIBRARY_PATH="$lib" "$dir/root/usr/libexec/selinux/hll/pp" >"$dir/cil/$name.cil" ||
		die "cannot convert module $name to CIL"
	n=$((n + 1))
done
[ "$n" -gt 100 ] || die "only $n policy modules in selinux-policy-default"
echo '(fsuse xattr virtiofs (system_u object_r fs_t ((s0) (s0))))' >"$dir/cil/zz-vfsd-virtiofs.cil"
log "compiling $n modules and zz-vfsd-virtiofs.cil"
LD_LIBRARY_PATH="$lib" "$dir/root/usr/bin/secilc" -c 33 -o "$out.tmp" -f /dev/null "$dir"/cil/*.cil >&2 ||
	die "secilc failed"
mv "$out.tmp" "$out"
: >"$dir/.built"
echo "SELINUX_POLICY=$out"
