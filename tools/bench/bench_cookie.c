/* Cookie make and check, the SipHash-bound part of the SYN path. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core/cookie.h"

#define N_FLOWS 1024
#define ITERS   2000000u

struct cookie_state {
	struct sg_cookie_config cfg;
	struct sg_secret *s;
	struct sg_flow flows[N_FLOWS];
	uint32_t isn[N_FLOWS], tsval[N_FLOWS];
};

static void *cookie_setup(const struct bench_opts *o)
{
	struct cookie_state *st = calloc(1, sizeof(*st));
	struct sg_tcp_opts opt = { .present = SG_OPT_MSS | SG_OPT_WS | SG_OPT_SACKPERM | SG_OPT_TS,
	                           .mss = 1460, .wscale = 7, .tsval = 1 };
	struct sg_secret_cache cache = { 0 };

	uint8_t master[SG_SECRET_MASTER_BYTES];

	(void)o;
	bench_random(master, sizeof(master));
	if (!st || sg_secret_create(master, 32, &st->s)) {
		free(st);
		return NULL;
	}
	sg_cookie_config_default(&st->cfg);
	for (unsigned i = 0; i < N_FLOWS; i++) {
		uint8_t c[4] = { 10, (uint8_t)(i >> 8), (uint8_t)i, 1 }, s[4] = { 192, 0, 2, 1 };
		struct sg_cookie_result r;

		sg_flow_make(&st->flows[i], 4, c, (uint16_t)(1024 + i), s, 80, 0, 0);
		sg_cookie_make(&st->cfg, st->s, &cache, &st->flows[i], i * 7919u, &opt, false,
		               1000ull * 1000000000ull, &r);
		st->isn[i] = r.isn;
		st->tsval[i] = r.tsval;
	}
	return st;
}

static void cookie_teardown(void *p)
{
	struct cookie_state *st = p;

	sg_secret_destroy(st->s);
	free(st);
}

static void make_run(void *p, unsigned t, struct bench_sample *s)
{
	struct cookie_state *st = p;
	struct sg_tcp_opts opt = { .present = SG_OPT_MSS | SG_OPT_WS | SG_OPT_SACKPERM | SG_OPT_TS,
	                           .mss = 1460, .wscale = 7, .tsval = 1 };
	struct sg_secret_cache cache = { 0 };
	struct sg_cookie_result r;
	uint32_t sink = t;
	uint64_t t0 = bench_now_ns();

	for (unsigned i = 0; i < ITERS; i++) {
		sg_cookie_make(&st->cfg, st->s, &cache, &st->flows[i % N_FLOWS], i, &opt, false,
		               1000ull * 1000000000ull, &r);
		sink += r.isn;
	}
	s->ns = (double)(bench_now_ns() - t0);
	s->ops = ITERS + (sink == 0xffffffffu);   /* keeps the loop */
}

static void check_run(void *p, unsigned t, struct bench_sample *s)
{
	struct cookie_state *st = p;
	struct sg_secret_cache cache = { 0 };
	struct sg_cookie_result r;
	unsigned ok = t;
	uint64_t t0 = bench_now_ns();

	for (unsigned i = 0; i < ITERS; i++) {
		unsigned k = i % N_FLOWS;

		ok += sg_cookie_check(&st->cfg, st->s, &cache, &st->flows[k], k * 7919u, st->isn[k],
		                      &st->tsval[k], 1000ull * 1000000000ull, &r) == 0;
	}
	s->ns = (double)(bench_now_ns() - t0);
	s->ops = ITERS + (ok == 0);
}

const struct bench_scenario bench_cookie_make = {
	.name = "cookie-make", .setup = cookie_setup, .run = make_run, .teardown = cookie_teardown,
};
const struct bench_scenario bench_cookie_check = {
	.name = "cookie-check", .setup = cookie_setup, .run = check_run, .teardown = cookie_teardown,
};
