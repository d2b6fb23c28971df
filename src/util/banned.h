/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Functions vfsd does not use, made a compile error (style.md rule 10). meson passes this file
 * with -include to every C file it builds, so it comes before anything else: it first includes
 * the headers that declare these functions (their include guards keep later includes from
 * declaring them again), then poisons the names.
 *
 * Instead of: strcpy/strcat/strncpy/strncat -> snprintf or memcpy with a checked length;
 * sprintf/vsprintf -> snprintf/vsnprintf; gets -> fgets; strtok -> strtok_r or strsep;
 * atoi/atol/atoll -> strtol/strtoul with errno and end checks (they cannot report an error);
 * alloca -> a fixed array or malloc (no stack size limit); tmpnam/mktemp -> mkstemp or
 * O_TMPFILE; asctime/gmtime/localtime -> the _r variants (not thread-safe).
 */
#ifndef VFSD_UTIL_BANNED_H
#define VFSD_UTIL_BANNED_H

#if defined(__GNUC__)
#include <alloca.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* glibc's alloca is a macro; poisoning it as one would be a warning. */
#undef alloca

#pragma GCC poison strcpy strcat strncpy strncat
#pragma GCC poison sprintf vsprintf gets strtok
#pragma GCC poison atoi atol atoll
#pragma GCC poison alloca
#pragma GCC poison tmpnam mktemp
#pragma GCC poison asctime gmtime localtime
#endif

#endif
