/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The id mapping options, in the Rust virtiofsd's spelling:
 *
 *   --uid-map / --gid-map  ":NAMESPACE_ID:HOST_ID:COUNT:"  a range of the user namespace vfsd
 *                          serves in (--sandbox=namespace); may be repeated.
 *   --translate-uid / --translate-gid  translation done by vfsd itself, may be repeated:
 *      guest:GUEST:HOST:COUNT         guest ids onto host ids, 1:1
 *      host:HOST:GUEST:COUNT          host ids shown to the guest as guest ids, 1:1
 *      map:GUEST:HOST:COUNT           both of the above
 *      squash-guest:GUEST:HOST:COUNT  COUNT guest ids all onto one host id
 *      squash-host:HOST:GUEST:COUNT   COUNT host ids all shown as one guest id
 *      forbid-guest:GUEST:COUNT       guest ids refused (EPERM) for owners of new or chowned files
 *
 * Ids are decimal 32-bit numbers; a range may not run past 4294967295.
 */
#ifndef VFSD_CLI_IDMAP_OPT_H
#define VFSD_CLI_IDMAP_OPT_H

#include <stddef.h>
#include <stdint.h>

#include "util/idmap.h"

/* One --uid-map/--gid-map line: namespace ids [inside, inside + count) are host ids
 * [outside, outside + count). */
struct opts_nsmap_range {
	uint32_t inside, outside, count;
};

/* At most this many lines per map: the kernel's limit for /proc/PID/uid_map (5.x). */
#define OPTS_NSMAP_MAX 340

struct opts_nsmap {
	struct opts_nsmap_range range[OPTS_NSMAP_MAX];
	size_t n;
};

/*
 * Parses one --translate-* rule into m. 0, or -EINVAL/-EEXIST/-ENOMEM with *why (static text)
 * saying what is wrong.
 */
int opts_translate_add(struct idmap *m, const char *rule, const char **why);

/* Parses one --uid-map/--gid-map value into map. 0, or -EINVAL/-E2BIG with *why. */
int opts_nsmap_add(struct opts_nsmap *map, const char *value, const char **why);

#endif
