#!/bin/sh
# /init of the libvirt tests' guest (busybox, no root file system): mounts every virtiofs tag
# named by vfsd.tags=TAG,TAG... on the kernel command line at /mnt/TAG, writes
# /mnt/TAG/guest-wrote, runs /mnt/TAG/guest.sh if the host put one there, and reports on the
# serial console in lines "VFSD: ..." that the host parses. With vfsd.wait=power it then waits
# for the ACPI power button (virsh shutdown); then it unmounts and powers the machine off.
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo 0 >/proc/sys/kernel/printk
for m in $(cat /modules.list); do
	insmod "/lib/modules/$m" || echo "VFSD: insmod $m failed"
done
say() { echo "VFSD: $*"; }
arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^vfsd\.$1=//p"; }
tags=$(arg tags | tr ',' ' ')
wait=$(arg wait)
mounted=""
for tag in $tags; do
	mkdir -p "/mnt/$tag"
	if ! mount -t virtiofs "$tag" "/mnt/$tag"; then
		say "mount $tag failed"
		continue
	fi
	say "mounted $tag"
	mounted="/mnt/$tag $mounted"
	if { echo "written by the guest through $tag" >"/mnt/$tag/guest-wrote"; } 2>/tmp/err; then
		say "write $tag ok"
	else
		say "write $tag failed: $(cat /tmp/err)"
	fi
	if [ -f "/mnt/$tag/guest.sh" ]; then
		sh "/mnt/$tag/guest.sh" "/mnt/$tag" 2>&1 | sed "s|^|VFSD: $tag: |"
	fi
	sync
done
say "done"
if [ "$wait" = power ]; then
	# The ACPI power button is an input device (button.ko); evdev.ko gives it /dev/input/eventN.
	# Any event on it (virsh shutdown presses it) ends the wait.
	ev=""
	for d in /sys/class/input/input*; do
		if grep -q "Power Button" "$d/name" 2>/dev/null; then
			ev=$(ls -d "$d"/event* 2>/dev/null | head -n 1)
			[ -n "$ev" ] && break
		fi
	done
	if [ -n "$ev" ]; then
		say "waiting for the power button (${ev##*/})"
		hexdump -n 24 "/dev/input/${ev##*/}" >/dev/null
		say "power button pressed"
		# The shares still serve (after a virsh save/restore, say): the file written before,
		# known to the guest by its node id, reads back, and a new one is written.
		for mp in $mounted; do
			t=${mp#/mnt/}
			[ "$(cat "$mp/guest-wrote" 2>/dev/null)" = "written by the guest through $t" ] &&
				say "reread $t ok"
			echo "written after the wait" >"$mp/guest-after-wait" 2>/dev/null &&
				say "write after the wait $t ok"
		done
	else
		say "no power button device"
	fi
fi
for mp in $mounted; do
	umount "$mp" || say "umount $mp failed"
done
sync
poweroff -f
sleep 10
