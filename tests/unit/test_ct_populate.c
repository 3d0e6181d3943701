/* Connection table: sg_ct_populate faults the table in off the data path,
 * keeps every entry as it was, and may run while a worker inserts. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "resident.h"

#include "core/conntrack.h"

static const uint8_t hash_key[SG_CT_HASH_KEY_BYTES] = {
	0x5d, 0x12, 0xc8, 0x3e, 0x90, 0x6b, 0xf4, 0x21, 0x7a, 0xe5, 0x03, 0xbc, 0x48, 0x9f, 0x36, 0xd1,
	0x0e, 0x67, 0xa2, 0x5b, 0xf8, 0x14, 0xc3, 0x79, 0x2d, 0x86, 0xe0, 0x4a, 0x1f, 0xb7, 0x52, 0x9c,
	0x31, 0xda, 0x08, 0x6e, 0xa5, 0x43, 0xfc, 0x17, 0x8b, 0x60, 0x2c, 0xe9, 0x75, 0x0a, 0xbe, 0x93,
	0x4d, 0x26, 0xf1, 0x88, 0x3b, 0xc5, 0x19, 0x7e,
};

static struct sg_ct *make_ct(uint32_t capacity, unsigned nworkers)
{
	struct sg_ct_config cfg;
	struct sg_ct *ct = NULL;

	sg_ct_config_default(&cfg);
	cfg.capacity = capacity;
	assert_int_equal(sg_ct_create(&cfg, nworkers, hash_key, &ct), 0);
	return ct;
}

static void key_of(struct sg_flow *k, uint32_t n)
{
	uint8_t wan[4] = { 10, (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
	uint8_t lan[4] = { 192, 0, 2, 10 };

	sg_flow_make(k, 4, wan, (uint16_t)(1024 + (n >> 24)), lan, 443, 0, 0);
}

/* A payload that names its flow, so a lookup can tell a kept entry from a
 * zeroed or foreign one. */
static void payload_of(uint8_t p[SG_CT_PAYLOAD_BYTES], uint32_t n)
{
	for (unsigned i = 0; i < SG_CT_PAYLOAD_BYTES; i++)
		p[i] = (uint8_t)(n * 7 + i + 1);
}

static struct sg_conn *insert_n(struct sg_ct *ct, unsigned w, uint32_t n)
{
	uint8_t p[SG_CT_PAYLOAD_BYTES];
	struct sg_conn *ex;
	struct sg_flow k;
	int err = 1;
	struct sg_conn *c;

	key_of(&k, n);
	payload_of(p, n);
	c = sg_ct_insert(ct, w, &k, sg_ct_hash(ct, &k), SG_CT_ESTABLISHED, p, 0, &ex, &err);
	assert_non_null(c);
	assert_int_equal(err, 0);
	return c;
}

/* Every flow below n is found, established, with its own payload. */
static void assert_all_found(struct sg_ct *ct, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint8_t p[SG_CT_PAYLOAD_BYTES];
		struct sg_flow k;
		struct sg_conn *c;

		key_of(&k, i);
		payload_of(p, i);
		c = sg_ct_lookup(ct, 0, &k, sg_ct_hash(ct, &k));
		assert_non_null(c);
		assert_int_equal(sg_ct_state_get(c), SG_CT_ESTABLISHED);
		assert_memory_equal(c->payload, p, sizeof(p));
	}
}

/* The pool (capacity * 128 bytes) becomes resident; the entries already
 * in use keep their keys, states and payloads; a second call finds
 * nothing to do; and the table goes on handing out entries in index
 * order. */
static void test_populate_makes_the_pool_resident_and_keeps_entries(void **state)
{
	const uint32_t cap = 1u << 18;     /* 32 MiB of entries */
	struct sg_ct *ct = make_ct(cap, 1);
	struct sg_conn *first, *c = NULL;
	size_t before, after;

	(void)state;
	first = insert_n(ct, 0, 0);
	for (uint32_t i = 1; i < 1000; i++)
		c = insert_n(ct, 0, i);
	assert_ptr_equal(c, first + 999);
	before = resident_bytes();
	assert_int_equal(sg_ct_populate(ct), 0);
	after = resident_bytes();
	/* 1000 entries (128 KiB) were resident already: the rest is new. */
	assert_true(after - before >= (size_t)cap * sizeof(struct sg_conn) - (1u << 20));
	assert_all_found(ct, 1000);

	assert_int_equal(sg_ct_populate(ct), 0);
	assert_true(resident_bytes() - after < 1u << 20);
	assert_all_found(ct, 1000);
	assert_ptr_equal(insert_n(ct, 0, 1000), first + 1000);
	assert_all_found(ct, 1001);
	sg_ct_destroy(ct);
}

/* The daemon populates while its workers insert and look up: no entry a
 * worker wrote may be lost, zeroed or moved under it. */
struct inserter {
	struct sg_ct *ct;
	uint32_t n;
	int started;
};

static void *insert_many(void *arg)
{
	struct inserter *in = arg;

	__atomic_store_n(&in->started, 1, __ATOMIC_RELEASE);
	for (uint32_t i = 0; i < in->n; i++) {
		insert_n(in->ct, 0, i);
		if ((i & 1023) == 0)
			sg_ct_quiescent(in->ct, 0);
	}
	return NULL;
}

static void test_populate_while_a_worker_inserts_loses_nothing(void **state)
{
	struct inserter in = { .ct = make_ct(1u << 20, 1), .n = 300000 };
	pthread_t th;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, insert_many, &in), 0);
	while (!__atomic_load_n(&in.started, __ATOMIC_ACQUIRE))
		;
	/* 128 MiB to fault in: the inserts run through the calls. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(sg_ct_populate(in.ct), 0);
	pthread_join(th, NULL);
	assert_int_equal(sg_ct_count(in.ct), in.n);
	assert_all_found(in.ct, in.n);
	sg_ct_destroy(in.ct);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_populate_makes_the_pool_resident_and_keeps_entries),
		cmocka_unit_test(test_populate_while_a_worker_inserts_loses_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
