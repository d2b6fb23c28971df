#!/bin/sh
# guest_rootless.sh DIR OUT_ID: the guest side of vm-rootless (tests/vm/run-vm-rootless.sh), run
# as the guest's root on a virtiofs mount DIR. It only acts and records; the host judges, since
# what is right depends on how the share's daemon maps ids. One line per action:
#   op NAME ok | op NAME fail LAST-LINE-OF-THE-ERROR
# then one line per file with the owner the guest is shown:
#   seen PATH UID:GID
# OUT_ID is an id outside the share's id map (or one a rule forbids). The host made, before the
# boot, host-mapped (owned by a host id inside the map) and host-unmapped (outside it).
d=$1
out=$2
cd "$d" || {
	echo "op cd fail cannot enter $d"
	exit 1
}

# op NAME COMMAND...: runs COMMAND, records whether it worked and, if not, its last error line.
op() {
	name=$1
	shift
	if msg=$("$@" 2>&1); then
		echo "op $name ok"
	else
		echo "op $name fail $(printf '%s\n' "$msg" | tail -n 1)"
	fi
}
# as ID COMMAND...: COMMAND as guest uid and gid ID, no supplementary groups.
as() {
	id=$1
	shift
	setpriv --reuid="$id" --regid="$id" --clear-groups "$@"
}

op create-root sh -c 'echo root >f-root'
op mkdir-root mkdir d-root
op mkdir-open sh -c 'mkdir d-open && chmod 0777 d-open'
op create-user as 1000 sh -c 'echo user >d-open/f-user'
op mkdir-user as 1000 mkdir d-open/d-user
op create-chown sh -c 'echo c >f-chown'
op chown-in chown 1000:1000 f-chown
op create-out sh -c 'echo o >f-out'
op chown-out chown "$out" f-out
op chgrp-out chgrp "$out" f-out
op create-as-out as "$out" sh -c 'echo x >d-open/f-as-out'
op read-host-mapped cat host-mapped
for f in f-root d-root d-open d-open/f-user d-open/d-user f-chown f-out d-open/f-as-out \
	host-mapped host-unmapped; do
	echo "seen $f $(stat -c %u:%g "$f" 2>/dev/null || echo absent)"
done
echo "done"
