/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Extended attribute name mapping (--xattrmap, docs/xattr-mapping.md): a compiled rule set in
 * the Rust virtiofsd's syntax, and the translation of names between the guest ("client") and
 * the share ("server"). Pure: no syscalls, no global state.
 *
 * Trust: the rule string comes from the command line (libvirt and Kata pass it through from
 * their users), so the parser bounds everything and fails with a message, never a crash. Names
 * given to the mapping functions come from the guest (xattrmap_to_host) or from the share
 * (xattrmap_to_guest): any byte string up to the given length.
 *
 * Beyond the Rust daemon, the mapping is kept a bijection between the names a guest can use and
 * the host names it reaches: a guest name is refused (-EPERM) unless the host name it maps to
 * lists back as exactly that guest name, and a host name is hidden unless the guest name it
 * lists as maps back to it. So no guest name aliases another one's attribute or reaches a host
 * name the listing would show under a different name, whatever the rules say.
 */
#ifndef VFSD_FS_XATTRMAP_H
#define VFSD_FS_XATTRMAP_H

#include <stddef.h>
#include <sys/types.h>

/* Longer rule strings and more rules than anyone writes by hand or libvirt generates. */
#define XATTRMAP_SPEC_MAX  65536u
#define XATTRMAP_RULES_MAX 256u
/* Host and guest names are xattr names: at most XATTR_NAME_MAX (255) bytes. */
#define XATTRMAP_NAME_MAX 255u

struct xattrmap;

/*
 * Compiles `spec`. Returns 0 and *ret (free with xattrmap_free), or -EINVAL after writing a
 * one-line reason naming the rule to err (errlen bytes, may be 0), or -ENOMEM.
 */
int xattrmap_parse(const char *spec, struct xattrmap **ret, char *err, size_t errlen);
void xattrmap_free(struct xattrmap *m); /* NULL-safe */
static inline void xattrmap_freep(struct xattrmap **m)
{
	xattrmap_free(*m);
}
/* Number of compiled rules (a map rule counts as the rules it expands to). */
size_t xattrmap_rule_count(const struct xattrmap *m);

/*
 * Guest name -> host name in out (outsz bytes, NUL-terminated). Returns the host name's length,
 * -EPERM (a bad rule, no rule, or a name that would not list back as itself), -ENOTSUP (an
 * unsupported rule) or -ERANGE (an empty name, or a host name that would exceed
 * XATTRMAP_NAME_MAX or outsz - 1).
 */
int xattrmap_to_host(const struct xattrmap *m, const char *guest_name, char *out, size_t outsz);

/*
 * Host name -> the guest name it lists as: a suffix of host_name, in *ret_guest. Returns 0, or
 * -ENODATA when the guest must not see it.
 */
int xattrmap_to_guest(const struct xattrmap *m, const char *host_name, const char **ret_guest);

/*
 * Rewrites a listxattr result (len bytes of NUL-terminated names; a trailing unterminated name
 * is dropped) in place into the guest's view. Returns the new length (<= len).
 */
size_t xattrmap_list_to_guest(const struct xattrmap *m, char *list, size_t len);

#endif
