/* Two workers at once on one proxy: SYN cache, connection table and rate
 * limiter under concurrent handshakes, with each worker also sending the
 * server side of the other's connections (entries another worker owns).
 * It must end (no deadlock), never emit a broken frame, and its counters
 * must add up.  Run under ASan in `make test`; clean under TSan too. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/proxy.h"
#include "net/build.h"
#include "net/pkt.h"

#define FLOWS   512
#define ROUNDS  60
#define SEC     1000000000ull

struct worker_run {
	struct sg_proxy *p;
	unsigned id;
	uint64_t frames, bad_out;
};

static void frame(struct sg_tcp_frame *f, unsigned owner, unsigned i, int from_client)
{
	uint8_t c[4] = { 10, (uint8_t)owner, (uint8_t)(i >> 8), (uint8_t)i };
	uint8_t s[4] = { 192, 0, 2, 10 };

	memset(f, 0, sizeof(*f));
	f->src_mac[5] = 1;
	f->dst_mac[5] = 2;
	f->family = 4;
	memcpy(f->saddr, from_client ? c : s, 4);
	memcpy(f->daddr, from_client ? s : c, 4);
	f->sport = from_client ? (uint16_t)(20000 + i) : 443;
	f->dport = from_client ? 443 : (uint16_t)(20000 + i);
	f->win = 500;
}

/* Sends one frame through the burst path; returns the first emitted
 * frame's SEQ (a cookie), or 0. */
static uint32_t send1(struct worker_run *r, enum sg_port port, struct sg_tcp_frame *f, uint64_t now)
{
	static __thread uint8_t buf[2048], outb[SG_OUT_MAX * SG_OUT_FRAME_MAX];
	uint8_t *frames[1] = { buf };
	uint32_t lens[1];
	enum sg_verdict v[1];
	struct sg_out out[1];
	uint32_t seq = 0;
	int len = sg_build_tcp(buf, sizeof(buf), f);

	assert_true(len > 0);
	lens[0] = (uint32_t)len;
	sg_out_init(&out[0], outb, SG_OUT_MAX);
	sg_proxy_process_burst(sg_proxy_worker(r->p, r->id), port, frames, lens, 1, now, v, out);
	r->frames++;
	for (unsigned k = 0; k < out[0].n; k++) {
		struct sg_pkt p;

		if (sg_pkt_parse(&p, out[0].f[k].buf, out[0].f[k].len) != SG_PKT_TCP ||
		    !sg_pkt_tcp_csum_ok(&p))
			r->bad_out++;
		else if (k == 0)
			seq = p.seq;
	}
	return seq;
}

static void *run(void *arg)
{
	struct worker_run *r = arg;
	uint8_t outb[SG_OUT_MAX * SG_OUT_FRAME_MAX];
	struct sg_tcp_frame f;
	struct sg_out out;
	uint64_t now = 1000 * SEC;

	for (unsigned round = 0; round < ROUNDS; round++) {
		for (unsigned i = 0; i < FLOWS; i++) {
			uint32_t cookie, isn = 0x1000u * i + round;

			frame(&f, r->id, i, 1);
			f.flags = SG_TCP_SYN;
			f.seq = isn;
			f.opt.present = SG_OPT_MSS;
			f.opt.mss = 1460;
			cookie = send1(r, SG_PORT_WAN, &f, now);
			frame(&f, r->id, i, 1);
			f.flags = SG_TCP_ACK;
			f.seq = isn + 1;
			f.ack = cookie + 1;
			send1(r, SG_PORT_WAN, &f, now);
			/* The server answers; and speaks for the other worker's
			 * client i, whose entry that worker owns. */
			frame(&f, r->id, i, 0);
			f.flags = SG_TCP_SYN | SG_TCP_ACK;
			f.seq = 0x7000000u + i;
			f.ack = isn + 1;
			send1(r, SG_PORT_LAN, &f, now);
			frame(&f, !r->id, i, 0);
			f.flags = SG_TCP_ACK;
			f.seq = 0x7000001u + i;
			f.ack = 0x1000u * i + round + 1;
			send1(r, SG_PORT_LAN, &f, now);
		}
		now += SEC / 4;
		sg_out_init(&out, outb, SG_OUT_MAX);
		while (sg_proxy_tick(sg_proxy_worker(r->p, r->id), now, &out))
			sg_out_init(&out, outb, SG_OUT_MAX);
	}
	sg_proxy_worker_offline(sg_proxy_worker(r->p, r->id));
	return NULL;
}

static void test_two_workers_cache_table_and_limiter_side_by_side(void **state)
{
	(void)state;
	static const uint8_t seed[SG_PROXY_SEED_BYTES] = { 42 };
	struct sg_proxy_config cfg;
	struct worker_run r[2];
	pthread_t th[2];
	struct sg_proxy *p;

	sg_proxy_config_default(&cfg);
	cfg.seed = seed;
	cfg.ct.capacity = 512;             /* full often: eviction and refusals */
	cfg.halfopen.max_syn_rate = 20000; /* the cache takes part */
	cfg.ratelimit.rate = 200000;       /* the limiter counts but seldom bites */
	cfg.ratelimit.burst = 4000;
	assert_int_equal(sg_proxy_create(&cfg, 2, &p), 0);
	for (unsigned i = 0; i < 2; i++) {
		r[i] = (struct worker_run){ .p = p, .id = i };
		assert_int_equal(pthread_create(&th[i], NULL, run, &r[i]), 0);
	}
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (unsigned i = 0; i < 2; i++) {
		const struct sg_stats *st = sg_proxy_stats(sg_proxy_worker(p, i));

		assert_int_equal(r[i].bad_out, 0);
		/* Each frame got exactly one verdict. */
		assert_int_equal(st->c[SG_STAT_FORWARDED] + st->c[SG_STAT_DROPPED] +
		                 st->c[SG_STAT_CONSUMED], r[i].frames);
		assert_int_equal(st->c[SG_STAT_RX_WAN] + st->c[SG_STAT_RX_LAN], r[i].frames);
		assert_true(st->c[SG_STAT_PROXIED_OPEN] > 0);
		assert_true(st->c[SG_STAT_SYN_CACHED] > 0);
	}
	assert_true(sg_ct_count(sg_proxy_table(p)) <= 512);
	sg_proxy_destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_workers_cache_table_and_limiter_side_by_side),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
