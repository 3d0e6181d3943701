/* Four SipHash-2-4 at once (see siphash_x4.h). */
#include "core/siphash_x4.h"

#include <endian.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#else
#define HAVE_X86 0
#endif

void sg_siphash_x4_scalar(const struct sg_siphash_key *key, const void *const msg[SG_SIPHASH_LANES],
                          size_t len, uint64_t out[SG_SIPHASH_LANES])
{
	for (unsigned i = 0; i < SG_SIPHASH_LANES; i++)
		out[i] = sg_siphash(key, msg[i], len);
}

/* A message's 8-byte block b, little-endian as SipHash reads it; the last
 * block holds the tail bytes and the length in its top byte. */
static inline uint64_t block(const uint8_t *m, size_t b)
{
	uint64_t w;

	memcpy(&w, m + 8 * b, 8);
	return le64toh(w);
}

static inline uint64_t last_block(const uint8_t *m, size_t len)
{
	uint8_t t[8] = { 0 };
	uint64_t w;

	memcpy(t, m + (len & ~(size_t)7), len & 7);
	memcpy(&w, t, 8);
	return le64toh(w) | (uint64_t)len << 56;
}

#if HAVE_X86

#define AVX2 __attribute__((target("avx2")))

static AVX2 inline __m256i rotl(__m256i x, int b)
{
	return _mm256_or_si256(_mm256_slli_epi64(x, b), _mm256_srli_epi64(x, 64 - b));
}

/* Rotations by 32 and 16 are whole-byte moves: one shuffle each. */
static AVX2 inline __m256i rotl32(__m256i x)
{
	return _mm256_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1));
}

static AVX2 inline __m256i rotl16(__m256i x)
{
	const __m256i m = _mm256_setr_epi8(6, 7, 0, 1, 2, 3, 4, 5, 14, 15, 8, 9, 10, 11, 12, 13,
	                                   6, 7, 0, 1, 2, 3, 4, 5, 14, 15, 8, 9, 10, 11, 12, 13);

	return _mm256_shuffle_epi8(x, m);
}

#define SIPROUND()                                                         \
	do {                                                               \
		v0 = _mm256_add_epi64(v0, v1);                             \
		v2 = _mm256_add_epi64(v2, v3);                             \
		v1 = rotl(v1, 13);                                         \
		v3 = rotl16(v3);                                           \
		v1 = _mm256_xor_si256(v1, v0);                             \
		v3 = _mm256_xor_si256(v3, v2);                             \
		v0 = rotl32(v0);                                           \
		v2 = _mm256_add_epi64(v2, v1);                             \
		v0 = _mm256_add_epi64(v0, v3);                             \
		v1 = rotl(v1, 17);                                         \
		v3 = rotl(v3, 21);                                         \
		v1 = _mm256_xor_si256(v1, v2);                             \
		v3 = _mm256_xor_si256(v3, v0);                             \
		v2 = rotl32(v2);                                           \
	} while (0)

bool sg_siphash_x4_avx2_usable(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2");
}

AVX2 void sg_siphash_x4_avx2(const struct sg_siphash_key *key, const void *const msg[SG_SIPHASH_LANES],
                             size_t len, uint64_t out[SG_SIPHASH_LANES])
{
	const uint8_t *m0 = msg[0], *m1 = msg[1], *m2 = msg[2], *m3 = msg[3];
	uint64_t k0, k1;
	__m256i v0, v1, v2, v3, w;
	uint64_t r[4];

	memcpy(&k0, key->b, 8);
	memcpy(&k1, key->b + 8, 8);
	k0 = le64toh(k0);
	k1 = le64toh(k1);
	v0 = _mm256_set1_epi64x((long long)(k0 ^ 0x736f6d6570736575ull));
	v1 = _mm256_set1_epi64x((long long)(k1 ^ 0x646f72616e646f6dull));
	v2 = _mm256_set1_epi64x((long long)(k0 ^ 0x6c7967656e657261ull));
	v3 = _mm256_set1_epi64x((long long)(k1 ^ 0x7465646279746573ull));
	for (size_t b = 0; b < len / 8; b++) {
		w = _mm256_set_epi64x((long long)block(m3, b), (long long)block(m2, b),
		                      (long long)block(m1, b), (long long)block(m0, b));
		v3 = _mm256_xor_si256(v3, w);
		SIPROUND();
		SIPROUND();
		v0 = _mm256_xor_si256(v0, w);
	}
	w = _mm256_set_epi64x((long long)last_block(m3, len), (long long)last_block(m2, len),
	                      (long long)last_block(m1, len), (long long)last_block(m0, len));
	v3 = _mm256_xor_si256(v3, w);
	SIPROUND();
	SIPROUND();
	v0 = _mm256_xor_si256(v0, w);
	v2 = _mm256_xor_si256(v2, _mm256_set1_epi64x(0xff));
	SIPROUND();
	SIPROUND();
	SIPROUND();
	SIPROUND();
	w = _mm256_xor_si256(_mm256_xor_si256(v0, v1), _mm256_xor_si256(v2, v3));
	_mm256_storeu_si256((__m256i *)r, w);
	/* sg_siphash hands back the digest's bytes as they sit in memory. */
	for (unsigned i = 0; i < SG_SIPHASH_LANES; i++)
		out[i] = htole64(r[i]);
}

#else

bool sg_siphash_x4_avx2_usable(void)
{
	return false;
}

/* Never chosen here; kept so that callers link on every architecture. */
void sg_siphash_x4_avx2(const struct sg_siphash_key *key, const void *const msg[SG_SIPHASH_LANES],
                        size_t len, uint64_t out[SG_SIPHASH_LANES])
{
	sg_siphash_x4_scalar(key, msg, len, out);
}

#endif

typedef void x4_fn(const struct sg_siphash_key *, const void *const[SG_SIPHASH_LANES], size_t,
                   uint64_t[SG_SIPHASH_LANES]);

static x4_fn resolve;
/* Every thread that resolves writes the same pointer: a relaxed store is
 * enough, and a thread that still sees `resolve` only asks once more. */
static x4_fn *impl = resolve;

static x4_fn *choose(void)
{
	return sg_siphash_x4_avx2_usable() ? sg_siphash_x4_avx2 : sg_siphash_x4_scalar;
}

static void resolve(const struct sg_siphash_key *key, const void *const msg[SG_SIPHASH_LANES],
                    size_t len, uint64_t out[SG_SIPHASH_LANES])
{
	x4_fn *f = choose();

	__atomic_store_n(&impl, f, __ATOMIC_RELAXED);
	f(key, msg, len, out);
}

void sg_siphash_x4(const struct sg_siphash_key *key, const void *const msg[SG_SIPHASH_LANES],
                   size_t len, uint64_t out[SG_SIPHASH_LANES])
{
	__atomic_load_n(&impl, __ATOMIC_RELAXED)(key, msg, len, out);
}

const char *sg_siphash_x4_impl(void)
{
	return choose() == sg_siphash_x4_avx2 ? "avx2" : "scalar";
}
