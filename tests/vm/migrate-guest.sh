#!/bin/sh
# shellcheck disable=SC2012,SC2013,SC2116 # busybox: ls of our own names; one module name a line
# migrate-guest.sh: /init of the guest of vm-migrate and vm-snapshot (tests/vm/run-vm-migrate.sh).
#
# The root is this initramfs (busybox, the virtio-fs modules) and nothing else: QEMU refuses to
# migrate while a 9p export is mounted, so there is no host root here. Everything the guest
# says goes to its serial console, which QEMU migrates with the VM (the source's console file
# ends at the switch-over, the destination's goes on). Lines for the host:
#   MIG ready                     both loops started
#   T <i> <sha256 prefix>         tick i of the main loop, and the sum of rw.dat it wrote
#   B <j>                         big-file pass j read the right data (cache=never share)
#   P <k>                         page-cache cycle k read the right data (cache=always share)
#   ERR <what>                    a failed check (the host fails the test on any)
#   SUMMARY ticks=<i> big=<j>     the loops ended (the host created ctl/stop on the share)
#   MIG done                      unmounted, powering off
# Settings from the kernel command line (they reach init as environment variables):
#   migdel=1   hold a file open that is deleted (default 1); an error on it is an ERR line
#   migdel=2   the same, but the first error writing or re-reading it (expected after a
#              snapshot is restored: the deleted file died with the source's daemon) is
#              reported as "DELGONE tick <i>: <error>" and the file is not used any more
#   migbig=1   mount the second share "never" (the daemon runs --cache=never) and re-read
#              big.dat (32 MiB) there in a loop, 8 MiB a read(2), comparing its md5 with
#              big.md5; and mount "always" (--cache=always) and check pc.dat in the page
#              cache (pcloop below) (default 0)
#
# The main loop, in /mnt/a/w (cwd held), every ~0.1 s, tick i:
#   - appends "i" to held.log through fd 3, opened once with O_APPEND;
#   - writes "i" through fd 4 into del.dat, opened once read-write and deleted at once, and
#     re-opens that deleted file through /proc/self/fd/4: it must have i lines;
#   - checks that rw.dat still has the sum written at tick i-1, rewrites it with 32 KiB of
#     new random data and reads it back with O_DIRECT (from the daemon): same sum;
#   - lists dir/: as many names as at the start.
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs -o mode=1777 tmp /tmp
echo 0 >/proc/sys/kernel/printk
for m in $(cat /modules.list); do
	insmod "/lib/modules/$m" || echo "ERR insmod $m"
done
halt() {
	sync
	poweroff -f
	sleep 5
}
mkdir -p /mnt/a /mnt/n
mount -t virtiofs share /mnt/a || {
	echo "ERR mount share"
	halt
}
if [ "${migbig:-0}" = 1 ]; then
	mkdir -p /mnt/c
	mount -t virtiofs never /mnt/n || {
		echo "ERR mount never"
		halt
	}
	mount -t virtiofs always /mnt/c || {
		echo "ERR mount always"
		halt
	}
fi
stopfile=/mnt/a/ctl/stop

bigloop() {
	exp=$(cat /mnt/n/big.md5)
	j=0
	while [ ! -e $stopfile ]; do
		j=$((j + 1))
		# dd reads the 32 MiB in four read(2)s of 8 MiB into one buffer: the guest sends
		# each as several FUSE READs at once and dd passes the buffer on only when all are
		# in, so while a read is under way the buffer holds data the daemon wrote and the
		# guest has not used yet, and the guest's CPU does not write that buffer after
		# zeroing it once (a write by the guest's CPU dirties the page and would hide a
		# missing log). A READ the daemon did not mark in the dirty
		# log leaves the destination with what the buffer held when its page was copied:
		# another part of the file, and a wrong md5.
		s=$(dd if=/mnt/n/big.dat bs=8388608 2>/dev/null | md5sum)
		s=${s%% *}
		if [ "$s" = "$exp" ]; then
			echo "B $j"
		else
			echo "ERR big.dat pass $j: md5 $s, expected $exp"
		fi
	done
	echo "$j" >/tmp/bigpasses
}

# The page cache of the "always" share (--cache=always: kept across opens): each cycle drops
# the guest's page cache, reads pc.dat once (the daemon writes it into page-cache pages; the
# guest boots with init_on_alloc=0, so nothing else writes those pages) and then checks it three
# times from the cache. Pages the daemon filled during a migration and did not log would reach
# the destination with whatever they held when they were copied, and stay cached there.
pcloop() {
	exp=$(cat /mnt/c/pc.md5)
	k=0
	while [ ! -e $stopfile ]; do
		k=$((k + 1))
		echo 1 >/proc/sys/vm/drop_caches
		for r in fill cached cached cached; do
			s=$(md5sum </mnt/c/pc.dat)
			s=${s%% *}
			[ "$s" = "$exp" ] || echo "ERR pc.dat cycle $k ($r): md5 $s, expected $exp"
		done
		echo "P $k"
	done
	echo "$k" >/tmp/pccycles
}

cd /mnt/a/w || {
	echo "ERR cd /mnt/a/w"
	halt
}
exec 3>>held.log
del=0
if [ "${migdel:-1}" != 0 ]; then
	del=1
	exec 4<>del.dat
	rm del.dat
fi
names=$(ls dir | wc -l)
bigpid=""
pcpid=""
if [ "${migbig:-0}" = 1 ]; then
	bigloop &
	bigpid=$!
	pcloop &
	pcpid=$!
fi
echo "MIG ready"
i=0
prev=""
while :; do
	i=$((i + 1))
	echo "$i" >&3 || echo "ERR tick $i: append through the held fd"
	if [ "$del" = 1 ]; then
		bad=""
		if ! err=$(echo "$i" 2>&1 >&4); then
			bad="write: $err"
		else
			c=$(wc -l </proc/$$/fd/4 2>/tmp/wc.err)
			[ "$c" = "$i" ] || bad="it has '$c' lines after $i writes: $(cat /tmp/wc.err)"
		fi
		if [ -z "$bad" ]; then
			:
		elif [ "${migdel:-1}" = 2 ]; then
			# the snapshot may fall between the write and the re-read
			echo "DELGONE tick $i: $bad"
			del=0
		else
			echo "ERR tick $i: the deleted file: $bad"
		fi
	fi
	if [ -n "$prev" ]; then
		s=$(sha256sum <rw.dat)
		[ "$s" = "$prev" ] || echo "ERR tick $i: rw.dat changed since the last tick: $s"
	fi
	dd if=/dev/urandom of=/tmp/rw bs=4096 count=8 2>/dev/null
	prev=$(sha256sum </tmp/rw)
	cat /tmp/rw >rw.dat || echo "ERR tick $i: rewrite rw.dat"
	# O_DIRECT: from the daemon, not from the guest's page cache
	s=$(dd if=rw.dat bs=32768 iflag=direct 2>/dev/null | sha256sum)
	[ "$s" = "$prev" ] || echo "ERR tick $i: rw.dat read back $s, wrote $prev"
	l=$(ls dir | wc -l)
	[ "$l" = "$names" ] || echo "ERR tick $i: dir lists $l names, expected $names"
	ls -l dir >/dev/null || echo "ERR tick $i: ls -l dir"
	echo "T $i $(echo "$prev" | cut -c1-16)"
	[ -e $stopfile ] && break
	usleep 100000
done
big=0
pc=0
if [ -n "$bigpid" ]; then
	wait "$bigpid" "$pcpid"
	big=$(cat /tmp/bigpasses)
	pc=$(cat /tmp/pccycles)
fi
h=$(wc -l <held.log)
[ "$h" = "$i" ] || echo "ERR held.log has $h lines after $i ticks"
echo "SUMMARY ticks=$i big=$big pagecache=$pc"
exec 3>&- 4>&-
cd /
umount /mnt/n 2>/dev/null
umount /mnt/c 2>/dev/null
umount /mnt/a || echo "ERR umount share"
echo "MIG done"
halt
