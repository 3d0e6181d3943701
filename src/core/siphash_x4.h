/* Four SipHash-2-4 at once, under one key: the cookies of a burst share
 * their epoch's key, and one SipHash is mostly a chain of dependent adds,
 * rotates and xors that leaves a core's vector units idle.  With AVX2 the
 * four states sit in four 256-bit registers, one lane each; without it
 * the scalar sg_siphash runs four times.  The CPU is asked once, at the
 * first call (__builtin_cpu_supports), so one binary serves both.
 *
 * Every implementation returns exactly what sg_siphash returns for each
 * message (tests/unit/test_siphash.c compares them). */
#ifndef SG_CORE_SIPHASH_X4_H
#define SG_CORE_SIPHASH_X4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/siphash.h"

#define SG_SIPHASH_LANES 4

/* out[i] = sg_siphash(key, msg[i], len) for i < SG_SIPHASH_LANES: four
 * messages of one length. */
void sg_siphash_x4(const struct sg_siphash_key *key, const void *const msg[SG_SIPHASH_LANES],
                   size_t len, uint64_t out[SG_SIPHASH_LANES]);

/* The implementations behind sg_siphash_x4, for the tests and the
 * benchmark: the scalar one always, the AVX2 one only where
 * sg_siphash_x4_avx2_usable(). */
void sg_siphash_x4_scalar(const struct sg_siphash_key *key, const void *const msg[SG_SIPHASH_LANES],
                          size_t len, uint64_t out[SG_SIPHASH_LANES]);
bool sg_siphash_x4_avx2_usable(void);
void sg_siphash_x4_avx2(const struct sg_siphash_key *key, const void *const msg[SG_SIPHASH_LANES],
                        size_t len, uint64_t out[SG_SIPHASH_LANES]);

/* "avx2" or "scalar": what sg_siphash_x4 runs on this CPU. */
const char *sg_siphash_x4_impl(void);

#endif
