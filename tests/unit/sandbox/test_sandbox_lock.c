/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sandbox_lock_down(): the capability set (and the per-thread euid switch the passthrough backend
 * relies on), --modcaps, RLIMIT_NOFILE, and the seccomp modes. Runs in --sandbox=none children so
 * /proc stays readable for the checks. Needs root; skipped otherwise.
 */
#include <linux/prctl.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <sched.h>
#include <seccomp.h>

#include "sandbox/sandbox-internal.h"
#include "util/macros.h"
#include "sb_test.h"

static char share[] = "/tmp/vfsd-sb-lock-XXXXXX";

#if defined(__NR_getxattrat)
#define SBT_NR_GETXATTRAT __NR_getxattrat
#elif defined(__x86_64__) || defined(__aarch64__)
#define SBT_NR_GETXATTRAT 464
#endif

static struct sandbox_config none_config(enum sandbox_seccomp seccomp)
{
	return (struct sandbox_config){
		.mode = SANDBOX_NONE,
		.seccomp = seccomp,
		.shared_dir = share,
	};
}

static void test_modcaps_syntax(void)
{
	CHECK_EQ(sandbox_modcaps_validate(NULL), 0);
	CHECK_EQ(sandbox_modcaps_validate(""), 0);
	CHECK_EQ(sandbox_modcaps_validate("+sys_admin"), 0);
	CHECK_EQ(sandbox_modcaps_validate("+sys_admin:-mknod"), 0);
	CHECK_EQ(sandbox_modcaps_validate("+CAP_SYS_ADMIN:-Cap_Chown"), 0);
	CHECK_EQ(sandbox_modcaps_validate("+bogus"), -EINVAL);
	CHECK_EQ(sandbox_modcaps_validate("sys_admin"), -EINVAL);
	CHECK_EQ(sandbox_modcaps_validate("+sys_admin::-mknod"), -EINVAL);
	CHECK_EQ(sandbox_modcaps_validate("+sys_admin:"), -EINVAL);
	CHECK_EQ(sandbox_modcaps_validate("+"), -EINVAL);
	CHECK_EQ(sandbox_modcaps_validate("+cap_"), -EINVAL);
	CHECK_EQ(sandbox_modcaps_validate("+sys admin"), -EINVAL);
}

struct caps_case {
	const char *modcaps;
	bool dac_read_search;
	uint64_t want;
	int want_ret;
};

/*
 * The passthrough backend's credential switch, on one thread: euid 0 -> 1000 empties the
 * effective set but keeps the permitted one; back to 0 restores the effective set.
 */
static void *euid_switch_thread(void *arg)
{
	const uint64_t *want = arg;

	CHECK(syscall(SYS_setresgid, -1, 1000, -1) == 0);
	CHECK(syscall(SYS_setresuid, -1, 1000, -1) == 0);
	CHECK_EQ(sbt_status_hex("CapEff"), 0);
	CHECK_EQ(sbt_status_hex("CapPrm"), *want);
	CHECK(syscall(SYS_setresuid, -1, 0, -1) == 0);
	CHECK(syscall(SYS_setresgid, -1, 0, -1) == 0);
	CHECK_EQ(sbt_status_hex("CapEff"), *want);
	return NULL;
}

static int caps_child(void *arg)
{
	struct caps_case *c = arg;
	struct sandbox_config cfg = none_config(SANDBOX_SECCOMP_NONE);
	pthread_t t;
	int status;

	cfg.modcaps = c->modcaps;
	cfg.need_dac_read_search = c->dac_read_search;
	CHECK_EQ(sandbox_enter(&cfg, &status), 0);
	CHECK_EQ(sandbox_lock_down(&cfg), c->want_ret);
	if (c->want_ret)
		return 0;
	CHECK_EQ(sbt_status_hex("CapEff"), c->want);
	CHECK_EQ(sbt_status_hex("CapPrm"), c->want);
	CHECK_EQ(sbt_status_hex("CapInh"), 0);
	CHECK_EQ(sbt_status_hex("CapBnd"), 0);
	CHECK_EQ(sbt_status_hex("CapAmb"), 0);
	CHECK(pthread_create(&t, NULL, euid_switch_thread, &c->want) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	/* The main thread was not affected by the worker's switch. */
	CHECK_EQ(sbt_status_hex("CapEff"), c->want);
	return 0;
}

static void test_caps(void)
{
	struct caps_case base = {.want = SBT_KEPT_CAPS};
	struct caps_case dac = {.dac_read_search = true,
				.want = SBT_KEPT_CAPS | SBT_CAP(CAP_DAC_READ_SEARCH)};
	struct caps_case mod = {
		.modcaps = "+sys_admin:-MKNOD:-cap_setfcap",
		.want = (SBT_KEPT_CAPS | SBT_CAP(CAP_SYS_ADMIN)) & ~SBT_CAP(CAP_MKNOD) &
			~SBT_CAP(CAP_SETFCAP),
	};
	struct caps_case bogus = {.modcaps = "+bogus", .want_ret = -EINVAL};

	CHECK_EQ(sbt_run(caps_child, &base), 0);
	CHECK_EQ(sbt_run(caps_child, &dac), 0);
	CHECK_EQ(sbt_run(caps_child, &mod), 0);
	CHECK_EQ(sbt_run(caps_child, &bogus), 0);
}

struct rlimit_case {
	uint64_t setting;
	rlim_t start;
	rlim_t want; /* 0: the default target, computed in the child */
};

static int rlimit_child(void *arg)
{
	struct rlimit_case *c = arg;
	struct sandbox_config cfg = none_config(SANDBOX_SECCOMP_NONE);
	struct rlimit rl;
	rlim_t want = c->want;
	int status;

	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	rl.rlim_cur = c->start;
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	if (!want) {
		/* min(1e6, nr_open), or the hard limit where CAP_SYS_RESOURCE is missing. */
		FILE *f = fopen("/proc/sys/fs/nr_open", "re");
		unsigned long long nr_open = 0;

		CHECK(f && fscanf(f, "%llu", &nr_open) == 1);
		if (f)
			fclose(f);
		want = MIN((rlim_t)SANDBOX_RLIMIT_NOFILE_DEFAULT, (rlim_t)nr_open);
		if (!(sbt_status_hex("CapEff") & SBT_CAP(CAP_SYS_RESOURCE)))
			want = MIN(want, rl.rlim_max);
	}
	cfg.rlimit_nofile = c->setting;
	CHECK_EQ(sandbox_enter(&cfg, &status), 0);
	CHECK_EQ(sandbox_lock_down(&cfg), 0);
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	CHECK_EQ(rl.rlim_cur, want);
	return 0;
}

static void test_rlimit(void)
{
	struct rlimit_case dflt = {.setting = UINT64_MAX, .start = 64};
	struct rlimit_case exact = {.setting = 100, .start = 64, .want = 100};
	struct rlimit_case leave = {.setting = 0, .start = 64, .want = 64};

	CHECK_EQ(sbt_run(rlimit_child, &dflt), 0);
	CHECK_EQ(sbt_run(rlimit_child, &exact), 0);
	CHECK_EQ(sbt_run(rlimit_child, &leave), 0);
}

enum forbidden {
	ALLOWED_ONLY,
	FORBID_SOCKET_INET,
	FORBID_PERSONALITY,
	FORBID_PTRACE,
	FORBID_UNSHARE_USER, /* unshare is allowed only for CLONE_FS */
	FORBID_IOCTL_OTHER,  /* ioctl is allowed only for TCGETS */
	FORBID_PRCTL_OTHER,  /* prctl is allowed only for PR_SET_NAME/PR_GET_NAME */
};

struct seccomp_case {
	enum sandbox_seccomp mode;
	enum forbidden call;
};

static void *thread_noop(void *arg)
{
	return arg;
}

/* What the daemon does all the time must survive the filter. */
static void exercise_allowed(void)
{
	char path[300], buf[8];
	struct stat st;
	pthread_t t;
	void *p;
	int fd, sv;

	CHECK(pthread_create(&t, NULL, thread_noop, NULL) == 0 && pthread_join(t, NULL) == 0);
	snprintf(path, sizeof(path), "%s/marker", share);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(fstat(fd, &st) == 0 && pread(fd, buf, sizeof(buf), 0) == 0);
	close(fd);
	p = malloc(1 << 20); /* mmap-backed */
	CHECK(p != NULL);
	free(p);
	CHECK(isatty(STDERR_FILENO) >= 0); /* ioctl(TCGETS) */
	CHECK(unshare(CLONE_FS) == 0);
	CHECK(prctl(PR_SET_NAME, "vfsd-test") == 0);
	sv = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(sv >= 0);
	close(sv);
	CHECK(sbt_status_long("Seccomp") == 2); /* SECCOMP_MODE_FILTER */
#ifdef SBT_NR_GETXATTRAT
	/* Allowed by number where libseccomp does not know the name (passthrough xattrs). */
	{
		struct {
			uint64_t value;
			uint32_t size, flags;
		} args = {(uintptr_t)buf, sizeof(buf), 0};

		CHECK(syscall(SBT_NR_GETXATTRAT, AT_FDCWD, path, 0, "user.none", &args,
			      sizeof(args)) < 0);
		CHECK(errno == ENODATA || errno == ENOTSUP || errno == ENOSYS);
	}
#endif
}

static void call_forbidden(enum forbidden call)
{
	int n = 0;

	switch (call) {
	case ALLOWED_ONLY:
		return;
	case FORBID_SOCKET_INET:
		socket(AF_INET, SOCK_STREAM, 0);
		return;
	case FORBID_PERSONALITY:
		syscall(SYS_personality, 0xffffffffUL); /* a query: harmless if let through */
		return;
	case FORBID_PTRACE:
		syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
		return;
	case FORBID_UNSHARE_USER:
		unshare(CLONE_NEWUSER);
		return;
	case FORBID_IOCTL_OTHER:
		ioctl(STDERR_FILENO, FIONREAD, &n);
		return;
	case FORBID_PRCTL_OTHER:
		prctl(PR_GET_DUMPABLE);
		return;
	}
}

static int seccomp_child(void *arg)
{
	struct seccomp_case *c = arg;
	struct sandbox_config cfg = none_config(c->mode);
	int status;

	CHECK_EQ(sandbox_enter(&cfg, &status), 0);
	CHECK_EQ(sandbox_lock_down(&cfg), 0);
	exercise_allowed();
	if (check_failures)
		return 1;
	call_forbidden(c->call);
	return 0;
}

static void test_seccomp_kill(void)
{
	static const enum forbidden calls[] = {
		FORBID_SOCKET_INET,  FORBID_PERSONALITY, FORBID_PTRACE,
		FORBID_UNSHARE_USER, FORBID_IOCTL_OTHER, FORBID_PRCTL_OTHER,
	};
	struct seccomp_case ok = {SANDBOX_SECCOMP_KILL, ALLOWED_ONLY};

	CHECK_EQ(sbt_run(seccomp_child, &ok), 0);
	for (size_t i = 0; i < ARRAY_SIZE(calls); i++) {
		struct seccomp_case c = {SANDBOX_SECCOMP_KILL, calls[i]};
		int r = sbt_run(seccomp_child, &c);

		if (r != 128 + SIGSYS)
			fprintf(stderr, "seccomp kill: forbidden call %d gave %d\n", (int)calls[i],
				r);
		CHECK_EQ(r, 128 + SIGSYS);
	}
}

/* Log mode lets the call through (the kernel logs it); the filter is still installed. */
static void test_seccomp_log(void)
{
	struct seccomp_case c = {SANDBOX_SECCOMP_LOG, FORBID_PERSONALITY};

	CHECK_EQ(sbt_run(seccomp_child, &c), 0);
}

/* Trap mode names the syscall on stderr, then dies of SIGSYS. */
static void test_seccomp_trap(void)
{
	struct seccomp_case c = {SANDBOX_SECCOMP_TRAP, FORBID_PERSONALITY};
	char out[512] = "", want[64];
	int pipefd[2], saved, r;
	ssize_t n;

	CHECK(pipe2(pipefd, O_CLOEXEC) == 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(pipefd[1], STDERR_FILENO);
	r = sbt_run(seccomp_child, &c);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(pipefd[1]);
	n = read(pipefd[0], out, sizeof(out) - 1);
	close(pipefd[0]);
	out[n > 0 ? n : 0] = '\0';
	CHECK_EQ(r, 128 + SIGSYS);
	snprintf(want, sizeof(want), "seccomp refused syscall %d\n", (int)SYS_personality);
	CHECK(strstr(out, want) != NULL);
}

static bool resolves_somewhere(const char *name)
{
	static const uint32_t arches[] = {
		SCMP_ARCH_X86_64,  SCMP_ARCH_AARCH64, SCMP_ARCH_X86,   SCMP_ARCH_ARM,
		SCMP_ARCH_RISCV64, SCMP_ARCH_PPC64LE, SCMP_ARCH_S390X,
	};

	for (size_t i = 0; i < ARRAY_SIZE(arches); i++)
		if (seccomp_syscall_resolve_name_arch(arches[i], name) >= 0)
			return true;
	return false;
}

/*
 * Names the loader cannot resolve are skipped silently (they are another architecture's), so a
 * misspelt name would silently be missing from the filter: every name must exist somewhere.
 */
static void check_names(const char *const *names, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		bool ok = resolves_somewhere(names[i]);

		if (!ok)
			fprintf(stderr, "allowlist: no architecture has a syscall '%s'\n",
				names[i]);
		CHECK(ok);
	}
}

static void test_allowlist_names(void)
{
	check_names(sandbox_syscall_allow, sandbox_syscall_allow_count);
	check_names(sandbox_supervisor_allow, sandbox_supervisor_allow_count);
	for (size_t i = 0; i < sandbox_supervisor_allow_if_count; i++)
		CHECK(seccomp_syscall_resolve_name(sandbox_supervisor_allow_if[i].name) >= 0);
	for (size_t i = 0; i < sandbox_syscall_allow_if_count; i++)
		CHECK(seccomp_syscall_resolve_name(sandbox_syscall_allow_if[i].name) >= 0);
	/* Newer syscalls: known to libseccomp by name, or given by number. */
	for (size_t i = 0; i < sandbox_syscall_allow_new_count; i++)
		CHECK(seccomp_syscall_resolve_name(sandbox_syscall_allow_new[i].name) >= 0 ||
		      sandbox_syscall_allow_new[i].nr > 0);
	/* The ones every daemon thread needs, resolved on this architecture. */
	CHECK(seccomp_syscall_resolve_name("futex") >= 0);
	CHECK(seccomp_syscall_resolve_name("openat") >= 0);
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "sandbox-lockdown: needs root, skipped\n");
		return SBT_SKIP;
	}
	if (sbt_make_share(share) < 0) {
		perror("sandbox-lockdown: temp dir");
		return 1;
	}
	test_modcaps_syntax();
	test_allowlist_names();
	test_caps();
	test_rlimit();
	test_seccomp_kill();
	test_seccomp_log();
	test_seccomp_trap();
	sbt_remove_share(share);
	return check_report("sandbox-lockdown");
}
