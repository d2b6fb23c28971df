/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A cursor over a fuzzer input: bounded getters that return zeros once the input runs out, so
 * a target never reads past the bytes libFuzzer gave it and short inputs stay meaningful.
 */
#ifndef VFSD_FUZZ_INPUT_H
#define VFSD_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_in {
	const uint8_t *p;
	size_t n;
};

static inline size_t fz_bytes(struct fz_in *in, void *dst, size_t len)
{
	size_t k = len < in->n ? len : in->n;

	if (k)
		memcpy(dst, in->p, k);
	if (k < len)
		memset((uint8_t *)dst + k, 0, len - k);
	in->p += k;
	in->n -= k;
	return k;
}

static inline uint8_t fz_u8(struct fz_in *in)
{
	uint8_t v;

	fz_bytes(in, &v, sizeof(v));
	return v;
}

static inline uint16_t fz_u16(struct fz_in *in)
{
	uint16_t v;

	fz_bytes(in, &v, sizeof(v));
	return v;
}

static inline uint32_t fz_u32(struct fz_in *in)
{
	uint32_t v;

	fz_bytes(in, &v, sizeof(v));
	return v;
}

static inline uint64_t fz_u64(struct fz_in *in)
{
	uint64_t v;

	fz_bytes(in, &v, sizeof(v));
	return v;
}

/* Takes up to len bytes in place (no copy); returns how many. */
static inline size_t fz_take(struct fz_in *in, const uint8_t **ret, size_t len)
{
	size_t k = len < in->n ? len : in->n;

	*ret = in->p;
	in->p += k;
	in->n -= k;
	return k;
}

/* Stops a target on a broken invariant; libFuzzer and the replay main both report it. */
#define FZ_CHECK(cond)                                                                           \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                 \
		}                                                                                \
	} while (0)

#endif
