#!/usr/bin/env python3
"""guest_selinux.py POLICY DIR:MODE... : run in a guest by run-vm-xattrmap.sh.

Loads the binary SELinux POLICY (selinuxfs, permissive), then on each virtiofs share DIR
creates a file (CREATE), a directory (MKDIR), a symlink (SYMLINK), a fifo (MKNOD) and an
O_TMPFILE later linked in (TMPFILE), each once with the label the policy chooses for this
process in that directory (computed independently through selinuxfs's "create" interface)
and once with a label asked for through /proc/self/attr/fscreate, then setfattr's
security.selinux on one file. MODE: "yes" when the daemon serves --security-label, "map" when
it does with security.* mapped to user.* (symlinks and fifos are then refused), "no" without.

Prints "ok - X" / "not ok - X" lines (vm_guest_tap) and, for the host, one line per object:
    obj SHARE NAME EXPECTED GUESTREAD
(EXPECTED: the label the kernel should have sent; GUESTREAD: what the guest's inode carries
afterwards, read back with getxattr). The host then reads the same names on its side.
"""
import errno
import os
import sys

SEL = "/sys/fs/selinux"
XNAME = "security.selinux"
ASKED = "system_u:object_r:etc_t:s0"  # through fscreate
SET = "system_u:object_r:user_home_t:s0"  # through setxattr
PARENT = "system_u:object_r:tmp_t:s0"  # the directory of the policy-labelled objects


def say(ok, what):
    print(("ok - " if ok else "not ok - ") + what, flush=True)
    return ok


def label(path):
    try:
        return os.getxattr(path, XNAME, follow_symlinks=False).rstrip(b"\0").decode()
    except OSError as e:
        return "ERR:" + errno.errorcode.get(e.errno, str(e.errno))


def load_policy(policy):
    if not os.path.isdir(SEL):
        return say(False, "selinuxfs present (boot with security=selinux)")
    if not os.path.exists(SEL + "/load"):
        os.system("mount -t selinuxfs selinuxfs " + SEL)
    with open(policy, "rb") as f:
        data = f.read()
    try:
        with open(SEL + "/load", "wb", buffering=0) as f:
            f.write(data)
    except OSError as e:
        return say(False, "policy loaded (%s)" % e)
    with open(SEL + "/policyvers") as f:
        vers = f.read().strip()
    with open(SEL + "/enforce") as f:
        enforce = f.read().strip()
    with open("/proc/self/attr/current") as f:
        me = f.read().strip("\0\n")
    print("# policy version %s, enforce %s, this process %s" % (vers, enforce, me))
    return say(enforce == "0" and me.startswith("system_u:system_r:kernel_t"),
               "policy loaded, permissive (%s)" % me)


def class_index(tclass):
    with open("%s/class/%s/index" % (SEL, tclass)) as f:
        return int(f.read())


def compute_create(parent, tclass):
    """The label the policy gives a new TCLASS object of this process in PARENT."""
    with open("/proc/self/attr/current") as f:
        me = f.read().strip("\0\n")
    fd = os.open(SEL + "/create", os.O_RDWR)
    try:
        os.write(fd, ("%s %s %d" % (me, label(parent), class_index(tclass))).encode())
        return os.read(fd, 4096).rstrip(b"\0").decode()
    finally:
        os.close(fd)


def fscreate(ctx):
    """Label this thread's next new objects CTX; None: as the policy chooses ("\\n" clears)."""
    fd = os.open("/proc/self/attr/fscreate", os.O_WRONLY)
    try:
        os.write(fd, (ctx or "\n").encode())
    finally:
        os.close(fd)


def make(kind, path):
    if kind == "file":
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    elif kind == "dir":
        os.mkdir(path, 0o755)
    elif kind == "symlink":
        os.symlink("target-of-" + os.path.basename(path), path)
    elif kind == "fifo":
        os.mknod(path, 0o644 | 0o10000)  # S_IFIFO: MKNOD
    elif kind == "tmpfile":
        fd = os.open(os.path.dirname(path), os.O_TMPFILE | os.O_WRONLY, 0o644)
        try:
            os.write(fd, b"t\n")
            # linkat(AT_SYMLINK_FOLLOW) through the magic link (os.link without a dir fd
            # would call link(2), which links the /proc symlink itself: EXDEV)
            proc = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.link(str(fd), path, src_dir_fd=proc, follow_symlinks=True)
            finally:
                os.close(proc)
        finally:
            os.close(fd)


CLASS = {"file": "file", "dir": "dir", "symlink": "lnk_file", "fifo": "fifo_file",
         "tmpfile": "file"}


def share(d, mode):
    tag = os.path.basename(d)
    # The policy labels a new object from this process's label and its directory's: in a
    # directory of the share's root (unlabelled: no xattr) it would be unlabeled_t, as a
    # daemon's fallback might be too, so the policy-labelled ones go into a tmp_t directory.
    pdir = os.path.join(d, "pdir")
    try:
        os.mkdir(pdir)
        os.setxattr(pdir, XNAME, PARENT.encode())
    except OSError as e:
        print("# %s: pdir: %s" % (tag, e))
    say(label(pdir) == PARENT, "%s: pdir labelled %s (%s)" % (tag, PARENT, label(pdir)))
    for kind in ("file", "dir", "symlink", "fifo", "tmpfile"):
        for how in ("policy", "asked"):
            name = "%s-%s" % (how, kind)
            if how == "policy":
                name = "pdir/" + name
            p = os.path.join(d, name)
            want = ASKED if how == "asked" else compute_create(pdir, CLASS[kind])
            # With the label mapped to user.*, a symlink or fifo cannot take it on the host
            # (Linux allows user.* xattrs on regular files and directories only): the daemon
            # removes the new node again and answers EPERM.
            refused = mode == "map" and kind in ("symlink", "fifo")
            try:
                fscreate(ASKED if how == "asked" else None)
                make(kind, p)
                made = not refused or say(False, "%s: %s %s refused with EPERM (made)"
                                          % (tag, how, kind))
            except OSError as e:
                if refused:
                    say(e.errno == errno.EPERM, "%s: %s %s refused with EPERM (%s)"
                        % (tag, how, kind, e))
                    print("obj %s %s - absent" % (tag, name), flush=True)
                    made = False
                else:
                    made = say(False, "%s: %s %s (%s)" % (tag, how, kind, e))
            finally:
                fscreate(None)
            if not made:
                continue
            got = label(p)
            print("obj %s %s %s %s" % (tag, name, want, got), flush=True)
            if mode != "no":
                say(got == want, "%s: %s %s carries %s in the guest (got %s)"
                    % (tag, how, kind, want, got))
    p = os.path.join(d, "set-file")
    open(p, "w").close()
    try:
        os.setxattr(p, XNAME, SET.encode())
        ok = True
    except OSError as e:
        ok = say(False, "%s: setxattr security.selinux (%s)" % (tag, e))
    if ok:
        say(label(p) == SET, "%s: setxattr security.selinux reads back (%s)" % (tag, label(p)))
    print("obj %s set-file %s %s" % (tag, SET, label(p)), flush=True)


def main():
    if not load_policy(sys.argv[1]):
        sys.exit(1)
    for spec in sys.argv[2:]:
        d, mode = spec.rsplit(":", 1)
        share(d, mode)
    os.sync()


main()
