#!/bin/sh
# guest-modules-check.sh: runs inside the guest of vm-guest-modules (run-vm-guest-modules.sh).
#
#   guest-modules-check.sh VT_PROBE GUEST_FS_TEST on|off MOUNTPOINT
#
# Checks that the loaded fuse.ko and virtiofs.ko are the patched ones of guest/build-modules.sh,
# or on sid's Linux 7.2 the fork virtiofs_vt.ko (guest/build-fork.sh) holding the device and the
# mount (the vfsd_vt parameter only they have; the kernel's out-of-tree taint), that the version table
# is on or off as expected (guest/vt-probe.c), then runs GUEST_FS_TEST on MOUNTPOINT.
# TAP lines as guest_fs_test prints them ("ok N - name", "not ok N - name: detail").
probe=$1 fs_test=$2 expect=$3 mp=$4
n=0
rc=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1: $2"; rc=1; }

has_dev() { # DRIVER: a virtio device is bound to it
	for d in /sys/bus/virtio/drivers/"$1"/virtio*; do [ -e "$d" ] && return 0; done
	return 1
}
if [ -d /sys/module/virtiofs_vt ]; then
	# sid's Linux 7.2 (FUSE built in): the renamed fork of guest/linux-7.2 holds the device
	# and the mount, the built-in driver has let go of it (tests/vm/lib.sh's init).
	if grep -q "^virtiofs_vt " /proc/modules && awk -v mp="$mp" '$2 == mp && $3 == "virtiofs_vt" { f = 1 } END { exit !f }' /proc/mounts &&
		has_dev virtiofs_vt && ! has_dev virtiofs; then
		ok "virtiofs_vt (the fork) is loaded, holds the device and the mount"
	else
		notok "virtiofs_vt (the fork) is loaded, holds the device and the mount" \
			"$(grep -E '^virtiofs_vt ' /proc/modules; grep " $mp " /proc/mounts; ls /sys/bus/virtio/drivers/virtiofs*)"
	fi
	taint=virtiofs_vt
else
	if grep -q '^fuse ' /proc/modules && grep -q '^virtiofs ' /proc/modules; then
		ok "fuse and virtiofs are loaded as modules"
	else
		notok "fuse and virtiofs are loaded as modules" "$(grep -E '^(fuse|virtiofs) ' /proc/modules | tr '\n' ';')"
	fi
	taint=fuse
fi
if dmesg | grep -q "$taint: loading out-of-tree module taints kernel"; then
	ok "$taint.ko loaded as an out-of-tree module (taint message)"
else
	notok "$taint.ko loaded as an out-of-tree module (taint message)" "no such line in dmesg"
fi
out=$("$probe" expect "$expect" 2>&1)
prc=$?
echo "$out" | sed 's/^/# vt-probe: /'
case $prc in
0) ok "vt-probe: the version table is $expect" ;;
1) notok "vt-probe: the version table is $expect" "$(echo "$out" | grep '^not ok' | head -1)" ;;
*) notok "vt-probe: the loaded fuse.ko is the vfsd build" "$out" ;;
esac
# With the table: the guest's own creates in a directory keep its other names there current
# (a run of own changes, guest/linux-6.1/vt.c): each stat of "first" after a create is a
# version check that finds the directory moved only by this guest.
if [ "$expect" = on ]; then
	d=$mp/vt-own
	mkdir "$d" && echo x >"$d/first" && stat "$d/first" >/dev/null
	own0=$("$probe" get own) kept0=$("$probe" get own_kept) rs0=$("$probe" get run_restart)
	i=0 err=0
	while [ $i -lt 20 ]; do
		echo "$i" >"$d/n$i" || err=1
		stat "$d/first" >/dev/null || err=1
		i=$((i + 1))
	done
	own=$(($("$probe" get own) - own0)) kept=$(($("$probe" get own_kept) - kept0))
	rs=$(($("$probe" get run_restart) - rs0))
	if [ $err = 0 ] && [ "$own" -ge 20 ] && [ "$kept" -ge 10 ] && [ "$rs" = 0 ]; then
		ok "own creates keep the directory's other names (20 creates: own $own, own_kept $kept, run_restart $rs)"
	else
		notok "own creates keep the directory's other names" \
			"errors $err, own $own, own_kept $kept, run_restart $rs"
	fi
	# The same for the guest's own unlinks, rmdirs and renames (their reply bodies), and the
	# changes themselves are seen: removed names are gone, renamed ones under the new name.
	i=0
	while [ $i -lt 10 ]; do mkdir "$d/d$i" || err=1; i=$((i + 1)); done
	stat "$d/first" >/dev/null
	own0=$("$probe" get own_dirs) kept0=$("$probe" get own_kept)
	i=0 err=0
	while [ $i -lt 10 ]; do
		rm "$d/n$i" || err=1
		stat "$d/first" >/dev/null || err=1
		rmdir "$d/d$i" || err=1
		stat "$d/first" >/dev/null || err=1
		mv "$d/n$((i + 10))" "$d/m$i" || err=1
		stat "$d/first" >/dev/null || err=1
		[ ! -e "$d/n$i" ] && [ ! -e "$d/d$i" ] && [ ! -e "$d/n$((i + 10))" ] &&
			[ "$(cat "$d/m$i")" = $((i + 10)) ] || err=1
		i=$((i + 1))
	done
	own=$(($("$probe" get own_dirs) - own0)) kept=$(($("$probe" get own_kept) - kept0))
	if [ $err = 0 ] && [ "$own" -ge 30 ] && [ "$kept" -ge 15 ]; then
		ok "own unlinks, rmdirs and renames keep the directory's other names (30 ops: own_dirs $own, own_kept $kept)"
	else
		notok "own unlinks, rmdirs and renames keep the directory's other names" \
			"errors $err, own_dirs $own, own_kept $kept"
	fi
	# The guest's own SETATTRs of the directory (chmod and utimes, as tar and git make them)
	# keep its other names as well (the reply's VFSD_VT_BUMPED node version), and the
	# directory's new attributes are seen.
	stat "$d/first" >/dev/null
	own0=$("$probe" get own_attr) kept0=$("$probe" get own_kept) sd0=$("$probe" get stale_dir)
	i=0 err=0
	while [ $i -lt 10 ]; do
		chmod 0750 "$d" || err=1
		stat "$d/first" >/dev/null || err=1
		touch -m -d "@$((1000000 + i))" "$d" || err=1
		stat "$d/first" >/dev/null || err=1
		[ "$(stat -c '%a %Y' "$d")" = "750 $((1000000 + i))" ] || err=1
		chmod 0755 "$d" || err=1
		i=$((i + 1))
	done
	own=$(($("$probe" get own_attr) - own0)) kept=$(($("$probe" get own_kept) - kept0))
	sd=$(($("$probe" get stale_dir) - sd0))
	if [ $err = 0 ] && [ "$own" -ge 30 ] && [ "$kept" -ge 20 ] && [ "$sd" = 0 ]; then
		ok "own chmod and utimes of a directory keep its other names (30 SETATTRs: own_attr $own, own_kept $kept, stale_dir $sd)"
	else
		notok "own chmod and utimes of a directory keep its other names" \
			"errors $err, own_attr $own, own_kept $kept, stale_dir $sd"
	fi
	# The guest's own WRITEs of a file, and its own link-then-unlink (git puts each object
	# under its final name with link() and unlinks the temporary one): the replies carry the
	# file's VFSD_VT_BUMPED version, which the inode adopts, so its names stay current (no
	# dentry goes stale for its inode's version), and the data and names are as written.
	echo start >"$d/w" && stat "$d/w" >/dev/null
	on0=$("$probe" get own_node) sn0=$("$probe" get stale_node)
	i=0 err=0
	while [ $i -lt 10 ]; do
		echo "line $i" >>"$d/w" || err=1
		stat "$d/w" >/dev/null || err=1
		echo "obj $i" >"$d/t$i" && ln "$d/t$i" "$d/o$i" && rm "$d/t$i" || err=1
		[ "$(cat "$d/o$i")" = "obj $i" ] && [ ! -e "$d/t$i" ] || err=1
		[ "$(stat -c %h "$d/o$i")" = 1 ] || err=1
		i=$((i + 1))
	done
	[ "$(wc -l <"$d/w")" = 11 ] && [ "$(tail -n 1 "$d/w")" = "line 9" ] || err=1
	on=$(($("$probe" get own_node) - on0)) sn=$(($("$probe" get stale_node) - sn0))
	if [ $err = 0 ] && [ "$on" -ge 30 ] && [ "$sn" = 0 ]; then
		ok "own writes and link+unlink keep the file's names (30 ops: own_node $on, stale_node $sn)"
	else
		notok "own writes and link+unlink keep the file's names" \
			"errors $err, own_node $on, stale_node $sn"
	fi
	# The guest's own fallocate()s and copy_file_range()s (cp copies with it into the new
	# file): the replies carry the file's (the copy's destination's) VFSD_VT_BUMPED version,
	# which the inode adopts (own_range), so the two stats after each find the name current:
	# no LOOKUP, no stale_node (without the version: a LOOKUP each). The first still sends a
	# GETATTR for the size, times and blocks FUSE itself invalidated after the op (and, after
	# cp's create, one of the directory, whose mtime FUSE invalidated); the second nothing.
	# Sizes and contents as made.
	echo "copy me" >"$d/src" && : >"$d/fa" && stat "$d/fa" "$d/src" >/dev/null
	or0=$("$probe" get own_range) sn0=$("$probe" get stale_node)
	i=0 err=0 l=0 g=0
	stat2() { # two stats of $1; their LOOKUPs and GETATTRs go to l and g (cp's own go nowhere)
		l1=$("$probe" get req_lookup) g1=$("$probe" get req_getattr)
		stat "$1" >/dev/null && stat "$1" >/dev/null || err=1
		l=$((l + $("$probe" get req_lookup) - l1)) g=$((g + $("$probe" get req_getattr) - g1))
	}
	while [ $i -lt 10 ]; do
		fallocate -l $(((i + 1) * 4096)) "$d/fa" || err=1
		stat2 "$d/fa"
		cp "$d/src" "$d/c$i" || err=1
		stat2 "$d/c$i"
		i=$((i + 1))
	done
	or=$(($("$probe" get own_range) - or0)) sn=$(($("$probe" get stale_node) - sn0))
	[ "$(stat -c %s "$d/fa")" = 40960 ] && cmp -s "$d/src" "$d/c9" || err=1
	if [ $err = 0 ] && [ "$or" -ge 20 ] && [ "$sn" = 0 ] && [ "$l" = 0 ] && [ "$g" -le 30 ]; then
		ok "own fallocate and copy_file_range keep the file's names (20 ops, 40 stats: own_range $or, stale_node $sn, lookups $l, getattrs $g)"
	else
		notok "own fallocate and copy_file_range keep the file's names" \
			"errors $err, own_range $or, stale_node $sn, lookups $l, getattrs $g"
	fi
	rm -rf "$d"
	# Versioned READDIRPLUS (VFSD_VT_INIT_RDPLUS): after a cold `ls -l` of a directory, the
	# listing's entries carry versions, so ls's own lstats and a stat of every entry after it
	# send no LOOKUP and no GETATTR. 12 short names: one READDIRPLUS (a 4 KiB page) holds all.
	d=$mp/vt-rdplus
	mkdir "$d" && i=0 && while [ $i -lt 12 ]; do echo "$i" >"$d/f$i" || err=1; i=$((i + 1)); done
	sync
	echo 2 >/proc/sys/vm/drop_caches
	stat "$d" >/dev/null
	l0=$("$probe" get req_lookup) g0=$("$probe" get req_getattr) p0=$("$probe" get dplus)
	lines=$(ls -l "$d" | grep -c ' f[0-9]*$')
	# By name, not by a glob: the shell's glob stats the directory, whose atime the listing
	# invalidated (a GETATTR of the directory in any FUSE mount, not of the entries).
	i=0 names=""
	while [ $i -lt 12 ]; do names="$names $d/f$i"; i=$((i + 1)); done
	# Without the birth time: Linux 7.x fetches it once per inode (FUSE_STATX), since neither
	# READDIRPLUS nor LOOKUP carry it.
	# shellcheck disable=SC2086 # one word per name
	stat -c '%n %s %Y %a' $names >/dev/null || err=1
	l=$(($("$probe" get req_lookup) - l0)) g=$(($("$probe" get req_getattr) - g0))
	p=$(($("$probe" get dplus) - p0))
	if [ $err = 0 ] && [ "$lines" = 12 ] && [ "$p" -ge 12 ] && [ "$l" = 0 ] && [ "$g" = 0 ]; then
		ok "ls -l then stat of 12 entries: no LOOKUP, no GETATTR (versioned entries $p)"
	else
		notok "ls -l then stat of 12 entries: no LOOKUP, no GETATTR" \
			"errors $err, listed $lines, versioned entries $p, lookups $l, getattrs $g"
	fi
	rm -rf "$d"
	# The readdir cache: vfsd sets FOPEN_CACHE_DIR for a guest with the table (it keys the
	# cache on the directory's version), so listings of an unchanged directory are served from
	# it (rdc_kept), and the guest's own create and unlink there are in the next listing.
	d=$mp/vt-rdc
	names() { (cd "$1" && echo *); } # a listing (the shell's glob reads the directory)
	mkdir "$d" && i=0 && while [ $i -lt 5 ]; do echo "$i" >"$d/f$i" || err=1; i=$((i + 1)); done
	k0=$("$probe" get rdc_kept)
	a=$(names "$d") && b=$(names "$d") && c=$(names "$d") || err=1
	k=$(($("$probe" get rdc_kept) - k0))
	echo 5 >"$d/f5" && e=$(names "$d") && rm "$d/f0" && f=$(names "$d") || err=1
	if [ $err = 0 ] && [ "$k" -ge 2 ] && [ "$a" = "f0 f1 f2 f3 f4" ] && [ "$b" = "$a" ] &&
		[ "$c" = "$a" ] && [ "$e" = "f0 f1 f2 f3 f4 f5" ] && [ "$f" = "f1 f2 f3 f4 f5" ]; then
		ok "listings of an unchanged directory come from the readdir cache (rdc_kept $k), own changes are listed"
	else
		notok "listings of an unchanged directory come from the readdir cache, own changes are listed" \
			"errors $err, rdc_kept $k, listings '$a' '$b' '$c', after a create '$e', after an unlink '$f'"
	fi
	rm -rf "$d"
fi
"$probe" | sed 's/^/# vt-probe: /'
dmesg | grep -iE 'fuse|virtio.fs|virtiofs|vfsd' | sed 's/^/# dmesg: /'
echo "# guest-modules-check: $n checks, status $rc; now guest_fs_test"
"$fs_test" "$mp" || rc=1
exit $rc
