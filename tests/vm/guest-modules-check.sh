#!/bin/sh
# guest-modules-check.sh: runs inside the guest of vm-guest-modules (run-vm-guest-modules.sh).
#
#   guest-modules-check.sh VT_PROBE GUEST_FS_TEST on|off MOUNTPOINT
#
# Checks that the loaded fuse.ko and virtiofs.ko are the patched ones of guest/build-modules.sh
# (the vfsd_vt parameter only they have; the kernel's out-of-tree taint), that the version table
# is on or off as expected (guest/vt-probe.c), then runs GUEST_FS_TEST on MOUNTPOINT.
# TAP lines as guest_fs_test prints them ("ok N - name", "not ok N - name: detail").
probe=$1 fs_test=$2 expect=$3 mp=$4
n=0
rc=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1: $2"; rc=1; }

if grep -q '^fuse ' /proc/modules && grep -q '^virtiofs ' /proc/modules; then
	ok "fuse and virtiofs are loaded as modules"
else
	notok "fuse and virtiofs are loaded as modules" "$(grep -E '^(fuse|virtiofs) ' /proc/modules | tr '\n' ';')"
fi
if dmesg | grep -q 'fuse: loading out-of-tree module taints kernel'; then
	ok "fuse.ko loaded as an out-of-tree module (taint message)"
else
	notok "fuse.ko loaded as an out-of-tree module (taint message)" "no such line in dmesg"
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
	# shellcheck disable=SC2086 # one word per name
	stat $names >/dev/null || err=1
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
