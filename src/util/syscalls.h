/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Syscall numbers newer than the C library's headers, defined once for every user (the
 * passthrough makes these calls, the seccomp allowlist permits them).
 *
 * From Linux 5.1 (number 424) on, a new syscall has the same number on every architecture but
 * alpha and mips, which add an offset; elsewhere the numbers below hold wherever libc does not
 * know them. On alpha and mips they stay undefined unless libc defines them, and users check
 * with #ifdef.
 */
#ifndef VFSD_UTIL_SYSCALLS_H
#define VFSD_UTIL_SYSCALLS_H

#include <sys/syscall.h>

#if !defined(__alpha__) && !defined(__mips__)
/* *xattrat(), Linux 6.13 */
#ifndef __NR_setxattrat
#define __NR_setxattrat 463
#endif
#ifndef __NR_getxattrat
#define __NR_getxattrat 464
#endif
#ifndef __NR_listxattrat
#define __NR_listxattrat 465
#endif
#ifndef __NR_removexattrat
#define __NR_removexattrat 466
#endif
#endif

#endif
