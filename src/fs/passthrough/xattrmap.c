// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The rule language (docs/xattr-mapping.md): rules follow each other, optionally separated by
 * white space; each starts with its own separator byte and is `<s>type<s>scope<s>key<s>prepend<s>`
 * or `<s>map<s>key<s>prepend<s>`. The first rule whose scope covers the direction and whose
 * pattern is a prefix of the name decides: the key for guest names, prepend for host names.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/passthrough/xattrmap.h"

enum xattrmap_type {
	XM_PREFIX,
	XM_OK,
	XM_BAD,
	XM_UNSUPPORTED,
	XM_MAP, /* only while parsing: expanded into the four kinds above */
};

#define XM_CLIENT 1u
#define XM_SERVER 2u
#define XM_ALL	  (XM_CLIENT | XM_SERVER)

struct xattrmap_rule {
	enum xattrmap_type type;
	unsigned scope;
	size_t key_len, prepend_len;
	char key[XATTRMAP_NAME_MAX + 1];
	char prepend[XATTRMAP_NAME_MAX + 1];
};

struct xattrmap {
	size_t n;
	struct xattrmap_rule rules[];
};

static const struct {
	const char *name;
	enum xattrmap_type type;
} xm_types[] = {
	{"prefix", XM_PREFIX},		 {"ok", XM_OK},	  {"bad", XM_BAD},
	{"unsupported", XM_UNSUPPORTED}, {"map", XM_MAP},
};

static const struct {
	const char *name;
	unsigned scope;
} xm_scopes[] = {{"client", XM_CLIENT}, {"server", XM_SERVER}, {"all", XM_ALL}};

struct xm_parser {
	const char *p, *end;
	char sep;
	unsigned rule_no;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int xm_fail(struct xm_parser *ps, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->errlen > 0)
		snprintf(ps->err, ps->errlen, "--xattrmap rule %u: %s", ps->rule_no, msg);
	return -EINVAL;
}

static bool xm_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The next field up to the separator (consumed); *ret_len bytes at *ret, not NUL-terminated. */
static int xm_field(struct xm_parser *ps, const char *what, const char **ret, size_t *ret_len)
{
	const char *s = ps->p, *e = memchr(s, ps->sep, (size_t)(ps->end - s));

	if (!e)
		return xm_fail(ps, "missing '%c' after the %s", ps->sep, what);
	if ((size_t)(e - s) > XATTRMAP_NAME_MAX)
		return xm_fail(ps, "%s longer than %u bytes", what, XATTRMAP_NAME_MAX);
	*ret = s;
	*ret_len = (size_t)(e - s);
	ps->p = e + 1;
	return 0;
}

static bool xm_word_is(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(s, word, len) == 0;
}

static void xm_set(struct xattrmap_rule *r, enum xattrmap_type type, unsigned scope,
		   const char *key, size_t key_len, const char *prepend, size_t prepend_len)
{
	r->type = type;
	r->scope = scope;
	memcpy(r->key, key, key_len);
	r->key[key_len] = '\0';
	r->key_len = key_len;
	memcpy(r->prepend, prepend, prepend_len);
	r->prepend[prepend_len] = '\0';
	r->prepend_len = prepend_len;
}

/*
 * `map` is shorthand (as the old C daemon and the Rust daemon's documentation define it; the
 * Rust code keeps it as one prefix rule): with a key, prefix the key's names, hide the host's
 * own names under the key, refuse guest names under the prefix, pass the rest; without one,
 * prefix everything and hide every host name without the prefix.
 */
static size_t xm_expand_map(struct xattrmap_rule *out, const char *key, size_t key_len,
			    const char *prepend, size_t prepend_len)
{
	xm_set(&out[0], XM_PREFIX, XM_ALL, key, key_len, prepend, prepend_len);
	if (key_len == 0) {
		xm_set(&out[1], XM_BAD, XM_ALL, "", 0, "", 0);
		return 2;
	}
	xm_set(&out[1], XM_BAD, XM_SERVER, "", 0, key, key_len);
	xm_set(&out[2], XM_BAD, XM_CLIENT, prepend, prepend_len, "", 0);
	xm_set(&out[3], XM_OK, XM_ALL, "", 0, "", 0);
	return 4;
}

/* One rule at ps->p (white space skipped); appends to m. */
static int xm_parse_rule(struct xm_parser *ps, struct xattrmap *m, bool *ret_map)
{
	/* Zeroed: gcc 12 at -O3 cannot see that xm_field sets them (-Wmaybe-uninitialized). */
	const char *f[4] = {0};
	size_t len[4] = {0};
	enum xattrmap_type type;
	unsigned scope = XM_ALL;
	size_t i, nf;
	int r;

	ps->sep = *ps->p++;
	if (ps->sep < 0x21 || ps->sep > 0x7e)
		return xm_fail(ps, "the separator must be a printable ASCII character");
	r = xm_field(ps, "type", &f[0], &len[0]);
	if (r < 0)
		return r;
	for (i = 0; i < sizeof(xm_types) / sizeof(xm_types[0]); i++)
		if (xm_word_is(f[0], len[0], xm_types[i].name))
			break;
	if (i == sizeof(xm_types) / sizeof(xm_types[0]))
		return xm_fail(ps, "unknown type '%.*s' (prefix, ok, bad, unsupported or map)",
			       (int)len[0], f[0]);
	type = xm_types[i].type;
	nf = type == XM_MAP ? 3 : 4;
	for (i = 1; i < nf; i++) {
		static const char *const names[2][4] = {{"", "scope", "key", "prepend"},
							{"", "key", "prepend", ""}};

		r = xm_field(ps, names[type == XM_MAP][i], &f[i], &len[i]);
		if (r < 0)
			return r;
	}
	if (type != XM_MAP) {
		for (i = 0; i < sizeof(xm_scopes) / sizeof(xm_scopes[0]); i++)
			if (xm_word_is(f[1], len[1], xm_scopes[i].name))
				break;
		if (i == sizeof(xm_scopes) / sizeof(xm_scopes[0]))
			return xm_fail(ps, "unknown scope '%.*s' (client, server or all)",
				       (int)len[1], f[1]);
		scope = xm_scopes[i].scope;
	}
	if (m->n + (type == XM_MAP ? 4 : 1) > XATTRMAP_RULES_MAX)
		return xm_fail(ps, "more than %u rules", XATTRMAP_RULES_MAX);
	if (type == XM_MAP) {
		m->n += xm_expand_map(&m->rules[m->n], f[1], len[1], f[2], len[2]);
		*ret_map = true;
	} else {
		xm_set(&m->rules[m->n++], type, scope, f[2], len[2], f[3], len[3]);
	}
	return 0;
}

int xattrmap_parse(const char *spec, struct xattrmap **ret, char *err, size_t errlen)
{
	struct xm_parser ps = {.p = spec, .err = err, .errlen = errlen};
	struct xattrmap *m;
	bool seen_map = false;
	size_t len = strnlen(spec, XATTRMAP_SPEC_MAX + 1);
	int r = 0;

	if (errlen > 0)
		err[0] = '\0';
	if (len > XATTRMAP_SPEC_MAX)
		return xm_fail(&ps, "the rules are longer than %u bytes", XATTRMAP_SPEC_MAX);
	ps.end = spec + len;
	m = calloc(1, sizeof(*m) + XATTRMAP_RULES_MAX * sizeof(m->rules[0]));
	if (!m)
		return -ENOMEM;
	for (;;) {
		while (ps.p < ps.end && xm_space(*ps.p))
			ps.p++;
		if (ps.p == ps.end)
			break;
		ps.rule_no++;
		if (seen_map) {
			r = xm_fail(&ps, "a map rule must be the last rule");
			break;
		}
		r = xm_parse_rule(&ps, m, &seen_map);
		if (r < 0)
			break;
	}
	if (r == 0 && m->n == 0) {
		ps.rule_no = 1;
		r = xm_fail(&ps, "no rules given");
	}
	if (r < 0) {
		free(m);
		return r;
	}
	*ret = m;
	return 0;
}

void xattrmap_free(struct xattrmap *m)
{
	free(m);
}

size_t xattrmap_rule_count(const struct xattrmap *m)
{
	return m->n;
}

static const struct xattrmap_rule *xm_find(const struct xattrmap *m, unsigned scope,
					   const char *name, size_t len)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct xattrmap_rule *r = &m->rules[i];
		const char *pat = scope == XM_CLIENT ? r->key : r->prepend;
		size_t plen = scope == XM_CLIENT ? r->key_len : r->prepend_len;

		if ((r->scope & scope) && plen <= len && memcmp(name, pat, plen) == 0)
			return r;
	}
	return NULL;
}

/* The rules alone, guest -> host; 0 with the host name in out. */
static int xm_to_host_raw(const struct xattrmap *m, const char *guest, size_t glen, char *out,
			  size_t outsz)
{
	const struct xattrmap_rule *r = xm_find(m, XM_CLIENT, guest, glen);
	size_t plen;

	if (!r || r->type == XM_BAD)
		return -EPERM; /* no rule: the Rust daemon panics, we refuse */
	if (r->type == XM_UNSUPPORTED)
		return -ENOTSUP;
	plen = r->type == XM_PREFIX ? r->prepend_len : 0;
	if (plen + glen > XATTRMAP_NAME_MAX || plen + glen >= outsz)
		return -ERANGE;
	memcpy(out, r->prepend, plen);
	memcpy(out + plen, guest, glen);
	out[plen + glen] = '\0';
	return (int)(plen + glen);
}

/* The rules alone, host -> guest: the offset of the guest name in host, or -ENODATA. */
static int xm_to_guest_raw(const struct xattrmap *m, const char *host, size_t hlen)
{
	const struct xattrmap_rule *r = xm_find(m, XM_SERVER, host, hlen);

	if (!r || r->type == XM_BAD || r->type == XM_UNSUPPORTED)
		return -ENODATA;
	if (r->type == XM_OK)
		return 0;
	if (r->prepend_len == hlen)
		return -ENODATA; /* would list as an empty name */
	return (int)r->prepend_len;
}

int xattrmap_to_host(const struct xattrmap *m, const char *guest_name, char *out, size_t outsz)
{
	size_t glen = strnlen(guest_name, XATTRMAP_NAME_MAX + 1);
	int hlen, off;

	if (glen == 0 || glen > XATTRMAP_NAME_MAX)
		return -ERANGE; /* what the kernel answers for such a name */
	hlen = xm_to_host_raw(m, guest_name, glen, out, outsz);
	if (hlen < 0)
		return hlen;
	off = xm_to_guest_raw(m, out, (size_t)hlen);
	if (off < 0 || (size_t)hlen - (size_t)off != glen ||
	    memcmp(out + off, guest_name, glen) != 0)
		return -EPERM; /* the host name would list as another name, or not at all */
	return hlen;
}

int xattrmap_to_guest(const struct xattrmap *m, const char *host_name, const char **ret_guest)
{
	char back[XATTRMAP_NAME_MAX + 1];
	size_t hlen = strnlen(host_name, XATTRMAP_NAME_MAX + 1);
	int off, blen;

	if (hlen == 0 || hlen > XATTRMAP_NAME_MAX)
		return -ENODATA;
	off = xm_to_guest_raw(m, host_name, hlen);
	if (off < 0)
		return off;
	blen = xm_to_host_raw(m, host_name + off, hlen - (size_t)off, back, sizeof(back));
	if (blen < 0 || (size_t)blen != hlen || memcmp(back, host_name, hlen) != 0)
		return -ENODATA; /* the guest could not reach it under the name it would see */
	*ret_guest = host_name + off;
	return 0;
}

size_t xattrmap_list_to_guest(const struct xattrmap *m, char *list, size_t len)
{
	size_t in = 0, out = 0;

	while (in < len) {
		char *name = list + in;
		char *nul = memchr(name, '\0', len - in);
		const char *guest;
		size_t glen;

		if (!nul)
			break;
		in += (size_t)(nul - name) + 1;
		if (nul == name || xattrmap_to_guest(m, name, &guest) < 0)
			continue;
		glen = strlen(guest) + 1;
		/* guest is a suffix of name, which starts at or after out: memmove is safe. */
		memmove(list + out, guest, glen);
		out += glen;
	}
	return out;
}
