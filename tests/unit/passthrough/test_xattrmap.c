// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The --xattrmap rule parser and name mapping (fs/passthrough/xattrmap.c): the rule syntax of
 * the Rust virtiofsd (separators, white space, map expansion, errors naming the rule), the
 * examples of docs/xattr-mapping.md, and the bijection that keeps guest names from aliasing.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "fs/passthrough/xattrmap.h"

static struct xattrmap *compile(const char *spec)
{
	struct xattrmap *m = NULL;
	char err[256];
	int r = xattrmap_parse(spec, &m, err, sizeof(err));

	if (r < 0)
		fprintf(stderr, "unexpected parse failure: %s\n", err);
	CHECK_EQ(r, 0);
	return m;
}

static void expect_error(const char *spec, const char *needle)
{
	struct xattrmap *m = NULL;
	char err[256] = "";

	CHECK_EQ(xattrmap_parse(spec, &m, err, sizeof(err)), -EINVAL);
	CHECK(m == NULL);
	if (!strstr(err, needle))
		fprintf(stderr, "'%s' not in '%s'\n", needle, err);
	CHECK(strstr(err, needle) != NULL);
}

static const char *host_of(const struct xattrmap *m, const char *guest, int *ret)
{
	static char buf[XATTRMAP_NAME_MAX + 1];

	*ret = xattrmap_to_host(m, guest, buf, sizeof(buf));
	return *ret >= 0 ? buf : "";
}

static const char *guest_of(const struct xattrmap *m, const char *host)
{
	const char *g;

	return xattrmap_to_guest(m, host, &g) == 0 ? g : NULL;
}

static void test_syntax(void)
{
	struct xattrmap *m;

	m = compile(":prefix:client:trusted.:user.virtiofs.:");
	CHECK_EQ(xattrmap_rule_count(m), 1);
	xattrmap_free(m);
	/* Separators per rule, white space (new lines too) between rules. */
	m = compile("  :prefix:all:trusted.:user.virtiofs.:\n\t/ok/all///  ");
	CHECK_EQ(xattrmap_rule_count(m), 2);
	xattrmap_free(m);
	m = compile(":prefix:all::user.virtiofs.::bad:all:::");
	CHECK_EQ(xattrmap_rule_count(m), 2);
	xattrmap_free(m);
	/* map expands: with a key to four rules, without one to two. */
	m = compile(":map:trusted.:user.virtiofs.:");
	CHECK_EQ(xattrmap_rule_count(m), 4);
	xattrmap_free(m);
	m = compile("/ok/client/user.// :map::user.virtiofs.:");
	CHECK_EQ(xattrmap_rule_count(m), 3);
	xattrmap_free(m);

	expect_error("", "rule 1: no rules given");
	expect_error("   \n", "no rules given");
	expect_error(":prefix:client:hi", "rule 1: missing ':' after the key");
	expect_error(":prefix:client:hi:", "rule 1: missing ':' after the prepend");
	expect_error(":ok:all::: :TOMATO:all:::", "rule 2: unknown type 'TOMATO'");
	expect_error("/prefix/helloworld///", "unknown scope 'helloworld'");
	expect_error(":map:a.:b.::ok:all:::", "rule 2: a map rule must be the last rule");
	expect_error(":map:a.:b.::map:a.:b.:", "a map rule must be the last rule");
	expect_error("\x01ok\x01all\x01\x01\x01", "separator");
	expect_error("\xc3\xa9ok\xc3\xa9", "separator");
	{
		char long_key[400] = ":ok:all:";

		memset(long_key + 8, 'k', 300);
		memcpy(long_key + 308, "::", 3);
		expect_error(long_key, "key longer than 255 bytes");
	}
	{
		static char many[300 * 10];
		size_t off = 0;

		for (int i = 0; i < 257; i++)
			off += (size_t)snprintf(many + off, sizeof(many) - off, ":ok:all::: ");
		expect_error(many, "more than 256 rules");
	}
}

static void test_map_key(void)
{
	struct xattrmap *m = compile(":map:security.:user.virtiofs.:");
	char list[256];
	size_t n;
	int r;

	CHECK_STREQ(host_of(m, "security.selinux", &r), "user.virtiofs.security.selinux");
	CHECK_EQ(r, (int)strlen("user.virtiofs.security.selinux"));
	CHECK_STREQ(host_of(m, "user.a", &r), "user.a");
	/* The mapped namespace under its own name: refused. */
	host_of(m, "user.virtiofs.security.selinux", &r);
	CHECK_EQ(r, -EPERM);
	host_of(m, "user.virtiofs.", &r);
	CHECK_EQ(r, -EPERM);
	CHECK_STREQ(guest_of(m, "user.virtiofs.security.selinux"), "security.selinux");
	CHECK(guest_of(m, "security.selinux") == NULL); /* the host's own label */
	CHECK(guest_of(m, "user.virtiofs.other") == NULL);
	CHECK(guest_of(m, "user.virtiofs.") == NULL);
	CHECK_STREQ(guest_of(m, "trusted.x"), "trusted.x");

	memcpy(list, "security.selinux\0user.virtiofs.security.x\0user.a\0user.virtiofs.q\0", 65);
	n = xattrmap_list_to_guest(m, list, 65);
	CHECK_EQ(n, sizeof("security.x") + sizeof("user.a"));
	CHECK(memcmp(list, "security.x\0user.a\0", n) == 0);
	/* An unterminated last name is dropped, an empty one skipped. */
	memcpy(list, "\0user.a\0user.b", 14);
	CHECK_EQ(xattrmap_list_to_guest(m, list, 14), sizeof("user.a"));
	xattrmap_free(m);
}

static void test_map_all(void)
{
	struct xattrmap *m = compile(":map::user.virtiofs.:");
	int r;

	CHECK_STREQ(host_of(m, "trusted.x", &r), "user.virtiofs.trusted.x");
	/* The guest may use the prefix itself: it is prefixed again, never an alias. */
	CHECK_STREQ(host_of(m, "user.virtiofs.x", &r), "user.virtiofs.user.virtiofs.x");
	CHECK_STREQ(guest_of(m, "user.virtiofs.user.virtiofs.x"), "user.virtiofs.x");
	CHECK(guest_of(m, "user.plain") == NULL);
	CHECK(guest_of(m, "user.virtiofs.") == NULL);
	/* Too long once prefixed. */
	{
		char name[256];

		memset(name, 'a', 250);
		memcpy(name, "user.", 5);
		name[250] = '\0';
		host_of(m, name, &r);
		CHECK_EQ(r, -ERANGE);
	}
	xattrmap_free(m);
}

static void test_rule_types(void)
{
	struct xattrmap *m = compile(
		":bad:client:trusted.:: :unsupported:client:system.:: /bad/server//secret./ "
		"/ok/all///");
	int r;

	host_of(m, "trusted.a", &r);
	CHECK_EQ(r, -EPERM);
	host_of(m, "system.posix_acl_access", &r);
	CHECK_EQ(r, -ENOTSUP);
	CHECK(guest_of(m, "secret.x") == NULL);
	/* secret.x lists as nothing, so the guest may not reach it by name either. */
	host_of(m, "secret.x", &r);
	CHECK_EQ(r, -EPERM);
	CHECK_STREQ(host_of(m, "user.a", &r), "user.a");
	xattrmap_free(m);

	/* No terminating rule: the Rust daemon panics on an unmatched name; we refuse/hide. */
	m = compile(":prefix:client:trusted.:user.virtiofs.:");
	host_of(m, "user.a", &r);
	CHECK_EQ(r, -EPERM);
	CHECK(guest_of(m, "user.a") == NULL);
	xattrmap_free(m);
}

/* Rules that, read literally, let a guest name alias the mapped one: the bijection refuses. */
static void test_no_alias(void)
{
	struct xattrmap *m = compile(":prefix:all:trusted.:user.virtiofs.: :ok:all:::");
	int r;

	CHECK_STREQ(host_of(m, "trusted.t", &r), "user.virtiofs.trusted.t");
	host_of(m, "user.virtiofs.trusted.t", &r);
	CHECK_EQ(r, -EPERM);
	CHECK_STREQ(guest_of(m, "user.virtiofs.trusted.t"), "trusted.t");
	xattrmap_free(m);

	/* The documented four-rule form of the same thing. */
	m = compile("/prefix/all/trusted./user.virtiofs./\n/bad/server//trusted./\n"
		    "/bad/client/user.virtiofs.//\n/ok/all///");
	CHECK(guest_of(m, "trusted.host") == NULL);
	CHECK_STREQ(host_of(m, "user.x", &r), "user.x");
	xattrmap_free(m);
}

int main(void)
{
	test_syntax();
	test_map_key();
	test_map_all();
	test_rule_types();
	test_no_alias();
	xattrmap_free(NULL);
	return check_report("passthrough-xattrmap");
}
