/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * POSIX ACLs for tests, in the xattr format of linux/posix_acl_xattr.h (what setfacl stores in
 * system.posix_acl_access/default), written and read as short text so checks read like
 * getfacl output: "u::rw-,u:1001:rw-,g::r--,m::rw-,o::---" (u user, g group, m mask, o other;
 * an id only for named entries; perms as "rwx" with '-' or omitted letters).
 * Header-only: used by the frontend tests and by guest_acl_test, which runs on its own.
 */
#ifndef VFSD_TESTS_ACL_UTIL_H
#define VFSD_TESTS_ACL_UTIL_H

#include <endian.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACL_MAX_ENTRIES 32
#define ACL_XATTR_MAX                            \
	(sizeof(struct posix_acl_xattr_header) + \
	 ACL_MAX_ENTRIES * sizeof(struct posix_acl_xattr_entry))

struct acl_ent {
	uint16_t tag;
	uint16_t perm;
	uint32_t id;
};

static inline int acl_ent_cmp(const void *a, const void *b)
{
	const struct acl_ent *x = a, *y = b;

	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* One "X:ID:PERMS" entry into e; 0 or -1 if malformed. */
static inline int acl_parse_entry(const char *s, size_t len, struct acl_ent *e)
{
	char tmp[64], *id, *perms, *end;

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	id = strchr(tmp, ':');
	if (!id || !(perms = strchr(id + 1, ':')))
		return -1;
	*id++ = '\0';
	*perms++ = '\0';
	e->id = (uint32_t)ACL_UNDEFINED_ID;
	if (*id) {
		unsigned long v = strtoul(id, &end, 10);
		if (*end)
			return -1;
		e->id = (uint32_t)v;
	}
	switch (tmp[0]) {
	case 'u':
		e->tag = *id ? ACL_USER : ACL_USER_OBJ;
		break;
	case 'g':
		e->tag = *id ? ACL_GROUP : ACL_GROUP_OBJ;
		break;
	case 'm':
		e->tag = ACL_MASK;
		break;
	case 'o':
		e->tag = ACL_OTHER;
		break;
	default:
		return -1;
	}
	e->perm = 0;
	for (const char *p = perms; *p; p++)
		e->perm |= *p == 'r'   ? ACL_READ
			   : *p == 'w' ? ACL_WRITE
			   : *p == 'x' ? ACL_EXECUTE
				       : 0;
	return 0;
}

/* Text to xattr value, entries sorted as the kernel wants them. Returns the size or -1. */
static inline int acl_from_text(const char *text, void *buf, size_t size)
{
	struct acl_ent ents[ACL_MAX_ENTRIES];
	struct posix_acl_xattr_header h = {htole32(POSIX_ACL_XATTR_VERSION)};
	size_t n = 0, need;

	for (const char *p = text; *p;) {
		size_t len = strcspn(p, ",");

		if (n == ACL_MAX_ENTRIES || acl_parse_entry(p, len, &ents[n++]) < 0)
			return -1;
		p += len + (p[len] == ',');
	}
	qsort(ents, n, sizeof(ents[0]), acl_ent_cmp);
	need = sizeof(h) + n * sizeof(struct posix_acl_xattr_entry);
	if (need > size)
		return -1;
	memcpy(buf, &h, sizeof(h));
	for (size_t i = 0; i < n; i++) {
		struct posix_acl_xattr_entry x = {htole16(ents[i].tag), htole16(ents[i].perm),
						  htole32(ents[i].id)};

		memcpy((char *)buf + sizeof(h) + i * sizeof(x), &x, sizeof(x));
	}
	return (int)need;
}

/* Xattr value to text (same form as acl_from_text takes). Returns 0 or -1 if malformed. */
static inline int acl_to_text(const void *buf, size_t len, char *out, size_t size)
{
	struct posix_acl_xattr_header h;
	size_t used = 0;

	out[0] = '\0';
	if (len < sizeof(h) || (len - sizeof(h)) % sizeof(struct posix_acl_xattr_entry))
		return -1;
	memcpy(&h, buf, sizeof(h));
	if (le32toh(h.a_version) != POSIX_ACL_XATTR_VERSION)
		return -1;
	for (size_t off = sizeof(h); off < len; off += sizeof(struct posix_acl_xattr_entry)) {
		struct posix_acl_xattr_entry x;
		uint16_t tag, perm;
		char id[16] = "";
		const char *t;
		int w;

		memcpy(&x, (const char *)buf + off, sizeof(x));
		tag = le16toh(x.e_tag);
		perm = le16toh(x.e_perm);
		t = tag == ACL_USER_OBJ || tag == ACL_USER     ? "u"
		    : tag == ACL_GROUP_OBJ || tag == ACL_GROUP ? "g"
		    : tag == ACL_MASK			       ? "m"
		    : tag == ACL_OTHER			       ? "o"
							       : "?";
		if (tag == ACL_USER || tag == ACL_GROUP)
			snprintf(id, sizeof(id), "%u", le32toh(x.e_id));
		w = snprintf(out + used, size - used, "%s%s:%s:%c%c%c", used ? "," : "", t, id,
			     perm & ACL_READ ? 'r' : '-', perm & ACL_WRITE ? 'w' : '-',
			     perm & ACL_EXECUTE ? 'x' : '-');
		if (w < 0 || (size_t)w >= size - used)
			return -1;
		used += (size_t)w;
	}
	return 0;
}

#endif
