# shellcheck shell=bash
# build-lib.sh: what guest/build-modules.sh (Debian 6.1, on the host) and guest/build-fork.sh
# (sid's 7.2, in the sid chroot) share: options, apt-get download of the kernel's headers and
# linux-source, the unpacked trees under $top, the pruning of old builds. Sourced; the caller
# sets $prog (log prefix), $top (the cache directory) and, for apt in a chroot, bl_apt_run (a
# function that runs its arguments where apt should run; default: here).
# shellcheck disable=SC2154 # prog, top and repo: set by the caller

log() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() {
	printf '%s: ERROR: %s\n' "$prog" "$*" >&2
	exit 1
}
bl_apt_run() { "$@"; }

# bl_start SUITE "$@": the options (--kver KVER, -h/--help: the caller's header comment); KVER
# defaults to the VM tests' guest kernel of Debian SUITE (tests/tools/vm-assets.sh). Sets $kver
# and takes the lock of $top.
kver=""
bl_start() {
	local suite=$1 out
	shift
	while [ $# -gt 0 ]; do
		case "$1" in
		--kver) kver="${2:?--kver needs a value}"; shift 2 ;;
		--kver=*) kver="${1#--kver=}"; shift ;;
		-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
		*) die "unknown argument: $1" ;;
		esac
	done
	if [ -z "$kver" ]; then
		out=$("$repo/tests/tools/vm-assets.sh" --suite "$suite") ||
			die "tests/tools/vm-assets.sh --suite $suite failed"
		kver=$(eval "$out" && echo "$VM_KVER")
	fi
	mkdir -p "$top"
	exec 9>"$top/.lock"
	flock 9
}

updated=0
bl_update() {
	log "apt-get update"
	bl_apt_run apt-get update -qq >&2 || die "apt-get update failed"
	updated=1
}
bl_pkg_version() { # PACKAGE [VERSION]: VERSION if apt knows it, else the candidate; empty if none
	if [ -n "${2:-}" ]; then
		bl_apt_run apt-cache madison "$1" 2>/dev/null | awk -v want="$2" '$3 == want { print $3; exit }'
	else
		bl_apt_run apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { print $2 }'
	fi
}

# bl_versions HEADERS-PACKAGE SERIES: sets $ver (the headers' version) and $src_ver (the
# linux-source-SERIES of that version, or the newest with a warning), cached in $top/KVER.version.
bl_versions() {
	local hdr_pkg=$1 series=$2 ver_file="$top/$kver.version"
	if [ -s "$ver_file" ]; then
		read -r ver src_ver <"$ver_file"
		return 0
	fi
	ver=$(bl_pkg_version "$hdr_pkg")
	if [ -z "$ver" ]; then
		bl_update
		ver=$(bl_pkg_version "$hdr_pkg")
	fi
	[ -n "$ver" ] || die "apt knows no $hdr_pkg (are the kernel's suites in the sources?)"
	# The source the kernel was built from has the same version; if the archive no longer has
	# it, the newest one of the series is the closest (a warning, not an error).
	src_ver=$(bl_pkg_version "linux-source-$series" "$ver")
	if [ -z "$src_ver" ]; then
		src_ver=$(bl_pkg_version "linux-source-$series")
		[ -n "$src_ver" ] || die "apt knows no linux-source-$series"
		log "WARNING: linux-source-$series $ver is gone from the archive; using $src_ver"
	fi
	echo "$ver $src_ver" >"$ver_file"
}

bl_download() { # DIR PACKAGE=VERSION...: apt-get download into DIR (retrying after an update)
	local dir="$1" get
	shift
	mkdir -p "$dir"
	get='cd "$1" && shift && exec apt-get -o APT::Sandbox::User=root download "$@"'
	bl_apt_run sh -c "$get" download "$dir" "$@" >&2 && return 0
	[ "$updated" = 1 ] && return 1
	bl_update
	bl_apt_run sh -c "$get" download "$dir" "$@" >&2
}

# bl_headers HROOT PACKAGE=VERSION...: the headers packages unpacked into HROOT (once). The
# flavour's Makefile names the common tree (and on 7.x its own output) by absolute path
# (/usr/src/...): they are pointed at the private copy; the other links are relative.
bl_headers() {
	local hroot=$1 dl="$top/download-$kver" deb mk
	shift
	[ -f "$hroot/.unpacked" ] && return 0
	rm -rf "$hroot" "$hroot.tmp" "$dl"
	log "downloading the headers of $kver ($ver)"
	bl_download "$dl" "$@" || die "apt-get download of the $kver headers failed"
	mkdir -p "$hroot.tmp"
	for deb in "$dl"/*.deb; do
		dpkg-deb -x "$deb" "$hroot.tmp" || die "dpkg-deb -x $deb failed"
	done
	rm -rf "$dl"
	mk="$hroot.tmp/usr/src/linux-headers-$kver/Makefile"
	[ -f "$mk" ] || die "no $mk in the headers package"
	sed -i "s|^include /usr/src/|include $hroot/usr/src/|; s|^KBUILD_OUTPUT=/usr/src/|KBUILD_OUTPUT=$hroot/usr/src/|" "$mk"
	grep -q "^include $hroot/" "$mk" || die "unexpected $mk: $(head -3 "$mk")"
	mv "$hroot.tmp" "$hroot"
	touch "$hroot/.unpacked"
}

# bl_fuse_src SRC SERIES: fs/fuse of linux-source-SERIES $src_ver unpacked into SRC (once).
bl_fuse_src() {
	local src=$1 series=$2 dl="$top/download-src-$2"
	[ -f "$src/.unpacked" ] && return 0
	rm -rf "$src" "$src.tmp" "$dl"
	log "downloading linux-source-$series $src_ver (140-170 MB)"
	bl_download "$dl" "linux-source-$series=$src_ver" ||
		die "apt-get download linux-source-$series=$src_ver failed"
	mkdir -p "$src.tmp"
	dpkg-deb --fsys-tarfile "$dl"/linux-source-"$series"_*.deb |
		tar -xO "./usr/src/linux-source-$series.tar.xz" |
		tar -xJ -C "$src.tmp" --strip-components=3 "linux-source-$series/fs/fuse" ||
		die "cannot unpack fs/fuse from linux-source-$series"
	[ -f "$src.tmp/fuse_i.h" ] && [ -f "$src.tmp/virtio_fs.c" ] ||
		die "no fs/fuse/fuse_i.h or virtio_fs.c in linux-source-$series $src_ver"
	rm -rf "$dl"
	mv "$src.tmp" "$src"
	touch "$src/.unpacked"
}

# bl_prune OUT: marks the build OUT in use; other builds of $kver go after a day unused (the
# cache is shared by every checkout on the machine, and another one's test may be booting one).
bl_prune() {
	local out=$1 old
	touch "$out/.built"
	for old in "$top/build-$kver-"*; do
		[ "$old" != "$out" ] && [ -f "$old/.built" ] || continue
		[ -z "$(find "$old/.built" -mmin -1440)" ] || continue
		rm -rf "$old"
	done
}

# bl_tree OUT SRC FILE...: OUT.tmp, a fresh copy of the pristine fs/fuse SRC with our FILEs
# added, to be built and renamed to OUT.
bl_tree() {
	local out=$1 src=$2
	shift 2
	rm -rf "$out" "$out.tmp"
	cp -a "$src" "$out.tmp"
	rm -f "$out.tmp/.unpacked"
	cp "$@" "$out.tmp/"
}
