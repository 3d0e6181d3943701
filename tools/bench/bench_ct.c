/* Connection table lookups at a realistic size (hits, random order). */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core/conntrack.h"

#define LOOKUPS 4000000u

struct ct_state {
	struct sg_ct *ct;
	unsigned flows, threads;
	struct sg_flow *keys;     /* threads * flows */
};

static void key_of(struct sg_flow *k, unsigned t, unsigned i)
{
	uint8_t wan[4] = { (uint8_t)(11 + t), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
	uint8_t lan[4] = { 192, 0, 2, 10 };

	sg_flow_make(k, 4, wan, (uint16_t)(1024 + (i & 0x3fff)), lan, 443, 0, 0);
}

static void *ct_setup(const struct bench_opts *o)
{
	struct ct_state *st = calloc(1, sizeof(*st));
	struct sg_ct_config cfg;
	uint8_t hash_key[SG_CT_HASH_KEY_BYTES];

	if (!st)
		return NULL;
	sg_ct_config_default(&cfg);
	st->flows = o->flows;
	st->threads = o->threads;
	if (cfg.capacity < o->flows * o->threads * 2)
		cfg.capacity = o->flows * o->threads * 2;
	st->keys = calloc((size_t)o->flows * o->threads, sizeof(*st->keys));
	if (!st->keys || (bench_random(hash_key, sizeof(hash_key)), sg_ct_create(&cfg, o->threads, hash_key, &st->ct))) {
		free(st->keys);
		free(st);
		return NULL;
	}
	for (unsigned t = 0; t < o->threads; t++)
		for (unsigned i = 0; i < o->flows; i++) {
			struct sg_conn *ex;
			int err;

			const struct sg_flow *k = &st->keys[(size_t)t * o->flows + i];

			key_of(&st->keys[(size_t)t * o->flows + i], t, i);
			sg_ct_insert(st->ct, t, k, sg_ct_hash(st->ct, k), SG_CT_ESTABLISHED, NULL, 0, &ex, &err);
		}
	return st;
}

static void ct_teardown(void *p)
{
	struct ct_state *st = p;

	sg_ct_destroy(st->ct);
	free(st->keys);
	free(st);
}

static void ct_run(void *p, unsigned t, struct bench_sample *s)
{
	struct ct_state *st = p;
	const struct sg_flow *keys = &st->keys[(size_t)t * st->flows];
	unsigned hits = 0, x = 12345 + t;
	uint64_t t0 = bench_now_ns();

	for (unsigned i = 0; i < LOOKUPS; i++) {
		x = x * 1103515245u + 12345u;
		const struct sg_flow *k = &keys[(x >> 8) % st->flows];

		hits += sg_ct_lookup(st->ct, t, k, sg_ct_hash(st->ct, k)) != NULL;
		if ((i & 63) == 0)
			sg_ct_quiescent(st->ct, t);
	}
	s->ns = (double)(bench_now_ns() - t0);
	s->ops = hits;
	sg_ct_offline(st->ct, t);
}

const struct bench_scenario bench_ct_lookup = {
	.name = "ct-lookup", .setup = ct_setup, .run = ct_run, .teardown = ct_teardown,
};
