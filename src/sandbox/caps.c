/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Capabilities (libcap-ng): keep what the passthrough backend needs to act for any guest uid, drop
 * the rest, including the bounding, inheritable and ambient sets (we never exec, but a drop that
 * can be undone by exec is no drop).
 *
 * Worker threads switch their euid/egid to the guest's with raw setresuid/setresgid and back to 0.
 * The kernel clears the effective set when euid leaves 0 and refills it from the permitted set when
 * euid returns to 0, as long as one of ruid/suid stays 0 (the permitted set is only cleared when
 * all three leave 0). So the kept set lives in permitted+effective and SETUID/SETGID must be in it.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cap-ng.h>

#include "sandbox/sandbox-internal.h"
#include "util/log.h"
#include "util/macros.h"

static const unsigned int kept_caps[] = {
	CAP_CHOWN,	  /* SETATTR uid/gid, and creating files owned by the guest's ids */
	CAP_DAC_OVERRIDE, /* requests served as root (e.g. release, forget-time closes) */
	CAP_FOWNER,	  /* utimensat/fchmod on files the daemon does not own */
	CAP_FSETID,	  /* keep setuid/setgid bits where the guest asks (killpriv handling) */
	CAP_SETGID,	  /* per-thread setresgid to the guest's gid, setgroups */
	CAP_SETUID,	  /* per-thread setresuid to the guest's uid */
	CAP_MKNOD,	  /* FUSE_MKNOD of device nodes */
	CAP_SETFCAP,	  /* setxattr("security.capability") */
};

#define CAP_NAME_MAX 32

/* "cap_SYS_Admin" -> "sys_admin", the spelling capng_name_to_capability() knows. */
static int normalize_cap_name(const char *name, size_t len, char out[static CAP_NAME_MAX])
{
	if (len >= 4 && strncasecmp(name, "cap_", 4) == 0) {
		name += 4;
		len -= 4;
	}
	if (len == 0 || len >= CAP_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '_')
			return -EINVAL;
		out[i] = (char)tolower(c);
	}
	out[len] = '\0';
	return 0;
}

static int modcaps_entry(const char *entry, size_t len, bool apply)
{
	char name[CAP_NAME_MAX];
	int cap;

	if (len < 2 || (entry[0] != '+' && entry[0] != '-')) {
		log_error("sandbox: --modcaps entry '%.*s' is not +name or -name", (int)len, entry);
		return -EINVAL;
	}
	if (normalize_cap_name(entry + 1, len - 1, name) < 0 ||
	    (cap = capng_name_to_capability(name)) < 0) {
		log_error("sandbox: --modcaps: unknown capability '%.*s'", (int)len - 1, entry + 1);
		return -EINVAL;
	}
	if (apply && capng_update(entry[0] == '+' ? CAPNG_ADD : CAPNG_DROP,
				  CAPNG_EFFECTIVE | CAPNG_PERMITTED, (unsigned int)cap) < 0) {
		log_error("sandbox: --modcaps: cannot update capability '%s'", name);
		return -EINVAL;
	}
	return 0;
}

int sandbox_modcaps_edit(const char *modcaps, bool apply)
{
	const char *p = modcaps;

	if (!modcaps || !*modcaps)
		return 0;
	for (;;) {
		const char *end = strchrnul(p, ':');
		int r = modcaps_entry(p, (size_t)(end - p), apply);

		if (r < 0)
			return r;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

int sandbox_modcaps_validate(const char *modcaps)
{
	return sandbox_modcaps_edit(modcaps, false);
}

int sandbox_caps_drop(const struct sandbox_config *cfg)
{
	int r;

	/*
	 * Not root (in our user namespace): guest requests run with our own ids, so no capability
	 * is of use; drop whatever we were started with (ambient capabilities, say).
	 */
	if (geteuid() != 0) {
		if (cfg->modcaps && *cfg->modcaps)
			log_warn("sandbox: not running as root, --modcaps ignored");
		return sandbox_caps_drop_all();
	}

	capng_clear(CAPNG_SELECT_ALL);
	for (size_t i = 0; i < ARRAY_SIZE(kept_caps); i++)
		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, kept_caps[i]);
	/* open_by_handle_at() requires it (--inode-file-handles). */
	if (cfg->need_dac_read_search)
		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_DAC_READ_SEARCH);
	r = sandbox_modcaps_edit(cfg->modcaps, true);
	if (r < 0)
		return r;

	r = capng_apply(CAPNG_SELECT_ALL);
	if (r < 0) {
		/* capset cannot add what we do not have: usually a --modcaps '+' of that kind. */
		log_error("sandbox: cannot apply the capability set (libcap-ng error %d)%s", r,
			  cfg->modcaps ? "; check --modcaps" : "");
		return -EPERM;
	}
	return 0;
}

int sandbox_caps_drop_all(void)
{
	int r;

	capng_get_caps_process();
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) == CAPNG_NONE &&
	    capng_have_capabilities(CAPNG_SELECT_BOUNDS) == CAPNG_NONE)
		return 0;
	capng_clear(CAPNG_SELECT_ALL);
	r = capng_apply(CAPNG_SELECT_ALL);
	/*
	 * Emptying the bounding set takes CAP_SETPCAP, which an unprivileged process started with
	 * a few ambient capabilities lacks; with no_new_privs and no exec the bounding set can
	 * never grant anything, so the permitted, effective and ambient sets are what matter.
	 */
	if (r < 0)
		r = capng_apply(CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT);
	if (r < 0) {
		log_error("sandbox: cannot drop all capabilities (libcap-ng error %d)", r);
		return -EPERM;
	}
	return 0;
}
