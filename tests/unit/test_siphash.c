/* sg_siphash is SipHash-2-4, and sg_siphash_x4 (each implementation this
 * CPU runs, and the one it chooses) is four of it: the reference vectors
 * of the SipHash paper, then random keys, lengths and messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <endian.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/siphash.h"
#include "core/siphash_x4.h"

/* SipHash paper, appendix A and the reference code's vectors.h: key
 * 00..0f, message 00..(i-1) of length i, the 64-bit output as a
 * little-endian integer. */
static const uint64_t ref_vectors[64] = {
	0x726fdb47dd0e0e31ull, 0x74f839c593dc67fdull, 0x0d6c8009d9a94f5aull,
	0x85676696d7fb7e2dull, 0xcf2794e0277187b7ull, 0x18765564cd99a68dull,
	0xcbc9466e58fee3ceull, 0xab0200f58b01d137ull, 0x93f5f5799a932462ull,
	0x9e0082df0ba9e4b0ull, 0x7a5dbbc594ddb9f3ull, 0xf4b32f46226bada7ull,
	0x751e8fbc860ee5fbull, 0x14ea5627c0843d90ull, 0xf723ca908e7af2eeull,
	0xa129ca6149be45e5ull, 0x3f2acc7f57c29bdbull, 0x699ae9f52cbe4794ull,
	0x4bc1b3f0968dd39cull, 0xbb6dc91da77961bdull, 0xbed65cf21aa2ee98ull,
	0xd0f2cbb02e3b67c7ull, 0x93536795e3a33e88ull, 0xa80c038ccd5ccec8ull,
	0xb8ad50c6f649af94ull, 0xbce192de8a85b8eaull, 0x17d835b85bbb15f3ull,
	0x2f2e6163076bcfadull, 0xde4daaaca71dc9a5ull, 0xa6a2506687956571ull,
	0xad87a3535c49ef28ull, 0x32d892fad841c342ull, 0x7127512f72f27cceull,
	0xa7f32346f95978e3ull, 0x12e0b01abb051238ull, 0x15e034d40fa197aeull,
	0x314dffbe0815a3b4ull, 0x027990f029623981ull, 0xcadcd4e59ef40c4dull,
	0x9abfd8766a33735cull, 0x0e3ea96b5304a7d0ull, 0xad0c42d6fc585992ull,
	0x187306c89bc215a9ull, 0xd4a60abcf3792b95ull, 0xf935451de4f21df2ull,
	0xa9538f0419755787ull, 0xdb9acddff56ca510ull, 0xd06c98cd5c0975ebull,
	0xe612a3cb9ecba951ull, 0xc766e62cfcadaf96ull, 0xee64435a9752fe72ull,
	0xa192d576b245165aull, 0x0a8787bf8ecb74b2ull, 0x81b3e73d20b49b6full,
	0x7fa8220ba3b2eceaull, 0x245731c13ca42499ull, 0xb78dbfaf3a8d83bdull,
	0xea1ad565322a1a0bull, 0x60e61c23a3795013ull, 0x6606d7e446282b93ull,
	0x6ca4ecb15c5f91e1ull, 0x9f626da15c9625f3ull, 0xe51b38608ef25f57ull,
	0x958a324ceb064572ull,
};

typedef void x4_fn(const struct sg_siphash_key *, const void *const[SG_SIPHASH_LANES], size_t,
                   uint64_t[SG_SIPHASH_LANES]);

static void ref_key(struct sg_siphash_key *k)
{
	uint8_t key[16];

	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	sg_siphash_key_from_bytes(k, key);
}

static void test_matches_reference_vector(void **state)
{
	(void)state;
	uint8_t msg[15];
	struct sg_siphash_key k;

	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	ref_key(&k);
	assert_int_equal(le64toh(sg_siphash(&k, msg, sizeof(msg))), 0xa129ca6149be45e5ull);
}

static void test_scalar_matches_all_reference_vectors(void **state)
{
	(void)state;
	uint8_t msg[64];
	struct sg_siphash_key k;

	ref_key(&k);
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	for (size_t len = 0; len < 64; len++)
		assert_int_equal(le64toh(sg_siphash(&k, msg, len)), ref_vectors[len]);
}

/* Each lane gets its own message: the vector's message in lane `lane`,
 * others in the rest, so a lane mix-up shows. */
static void x4_reference_vectors(x4_fn *f)
{
	uint8_t msg[SG_SIPHASH_LANES][64];
	const void *m[SG_SIPHASH_LANES];
	struct sg_siphash_key k;
	uint64_t out[SG_SIPHASH_LANES];

	ref_key(&k);
	for (size_t len = 0; len < 64; len++)
		for (unsigned lane = 0; lane < SG_SIPHASH_LANES; lane++) {
			for (unsigned l = 0; l < SG_SIPHASH_LANES; l++) {
				for (int i = 0; i < 64; i++)
					msg[l][i] = (uint8_t)(l == lane ? (unsigned)i : (unsigned)i * 7 + l + 1);
				m[l] = msg[l];
			}
			f(&k, m, len, out);
			assert_int_equal(le64toh(out[lane]), ref_vectors[len]);
			for (unsigned l = 0; l < SG_SIPHASH_LANES; l++)
				if (l != lane)
					assert_int_equal(out[l], sg_siphash(&k, msg[l], len));
		}
}

/* Random keys, lengths 0..71 (the cookie's 32 and 56 among them) and
 * unaligned messages, against the scalar sg_siphash. */
static void x4_random(x4_fn *f)
{
	uint8_t buf[SG_SIPHASH_LANES][80 + 8];
	const void *m[SG_SIPHASH_LANES];
	uint8_t kb[16];
	struct sg_siphash_key k;
	uint64_t out[SG_SIPHASH_LANES];

	for (unsigned round = 0; round < 5000; round++) {
		size_t len = randombytes_uniform(72);

		randombytes_buf(kb, sizeof(kb));
		sg_siphash_key_from_bytes(&k, kb);
		randombytes_buf(buf, sizeof(buf));
		for (unsigned l = 0; l < SG_SIPHASH_LANES; l++)
			m[l] = buf[l] + (round + l) % 8;
		f(&k, m, len, out);
		for (unsigned l = 0; l < SG_SIPHASH_LANES; l++)
			assert_int_equal(out[l], sg_siphash(&k, m[l], len));
	}
}

static void test_x4_scalar(void **state)
{
	(void)state;
	x4_reference_vectors(sg_siphash_x4_scalar);
	x4_random(sg_siphash_x4_scalar);
}

/* What the CPU offers decides which implementations run here; the one
 * sg_siphash_x4 chooses runs on every CPU. */
static void test_x4_avx2(void **state)
{
	(void)state;
	if (sg_siphash_x4_avx2_usable()) {
		x4_reference_vectors(sg_siphash_x4_avx2);
		x4_random(sg_siphash_x4_avx2);
	} else {
		print_message("no AVX2 on this CPU: its lanes are not run here\n");
	}
	assert_string_equal(sg_siphash_x4_impl(), sg_siphash_x4_avx2_usable() ? "avx2" : "scalar");
}

static void test_x4_dispatched(void **state)
{
	(void)state;
	x4_reference_vectors(sg_siphash_x4);
	x4_random(sg_siphash_x4);
}

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_reference_vector),
		cmocka_unit_test(test_scalar_matches_all_reference_vectors),
		cmocka_unit_test(test_x4_scalar),
		cmocka_unit_test(test_x4_avx2),
		cmocka_unit_test(test_x4_dispatched),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
