/* Learned and pinned server options: a note is found again under its own
 * key and no other, the address stands in for its ports, pins win from
 * the most specific down, a full bucket gives up its oldest record, and
 * lookups racing notes never see half of one. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/learn.h"

static const uint8_t key[SG_LEARN_KEY_BYTES] = { 3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3 };

static struct sg_learn *make(uint32_t entries, uint32_t ttl_s)
{
	struct sg_learn_config c = { .entries = entries, .ttl_s = ttl_s };
	struct sg_learn *l;

	assert_int_equal(sg_learn_create(&c, key, &l), 0);
	return l;
}

static struct sg_learned opts(uint16_t mss, uint8_t ws, bool sack, bool ts)
{
	return (struct sg_learned){ .mss = mss, .ws = ws, .sack = sack, .ts = ts,
	                            .known = SG_LEARN_ALL };
}

static void v4(uint8_t out[4], uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	out[0] = a, out[1] = b, out[2] = c, out[3] = d;
}

static void v6(uint8_t out[16], uint8_t subnet, uint8_t host)
{
	static const uint8_t base[16] = { 0x20, 0x01, 0x0d, 0xb8 };

	memcpy(out, base, 16);
	out[7] = subnet;
	out[15] = host;
}

static void assert_learned(const struct sg_learned *got, const struct sg_learned *want)
{
	assert_int_equal(got->known, want->known);
	if (want->known & SG_LEARN_MSS)
		assert_int_equal(got->mss, want->mss);
	if (want->known & SG_LEARN_WS)
		assert_int_equal(got->ws, want->ws);
	if (want->known & SG_LEARN_SACK)
		assert_int_equal(got->sack, want->sack);
	if (want->known & SG_LEARN_TS)
		assert_int_equal(got->ts, want->ts);
}

static void test_config(void **state)
{
	(void)state;
	struct sg_learn_config c;
	struct sg_cfg_fault why;
	struct sg_learn *l;

	sg_learn_config_default(&c);
	assert_int_equal(sg_learn_config_check(&c, &why), 0);
	c.entries = SG_LEARN_MIN_ENTRIES - 1;
	assert_int_equal(sg_learn_config_check(&c, &why), -1);
	assert_int_equal(why.rule, SG_CFG_RANGE);
	assert_int_equal(why.off, offsetof(struct sg_learn_config, entries));
	assert_int_equal(sg_learn_create(&c, key, &l), -EINVAL);
	sg_learn_config_default(&c);
	c.ttl_s = SG_LEARN_MAX_TTL_S + 1;
	assert_int_equal(sg_learn_config_check(&c, &why), -1);
	assert_int_equal(why.off, offsetof(struct sg_learn_config, ttl_s));
}

/* A server's (address, port) answers for itself; its address answers for
 * the ports not seen; other addresses and the other family know nothing. */
static void test_note_then_lookup_port_and_address(void **state)
{
	(void)state;
	struct sg_learn *l = make(1024, 600);
	struct sg_learned a = opts(1400, 7, true, true), b = opts(1300, SG_LEARN_WS_NONE, false, false);
	struct sg_learned got;
	uint8_t s[4], other[4], s6[16], other6[16], mapped[16] = { 0 };

	v4(s, 10, 0, 0, 5);
	v4(other, 10, 0, 0, 6);
	assert_false(sg_learn_lookup(l, 4, s, 443, 0, &got));
	assert_int_equal(got.known, 0);

	sg_learn_note(l, 4, s, 443, &a, 1000);
	assert_int_equal(sg_learn_count(l), 2);   /* (address, port) and address */
	assert_true(sg_learn_lookup(l, 4, s, 443, 1001, &got));
	assert_learned(&got, &a);
	assert_true(sg_learn_lookup(l, 4, s, 80, 1001, &got));   /* the address */
	assert_learned(&got, &a);
	assert_true(sg_learn_lookup(l, 4, s, 0, 1001, &got));
	assert_learned(&got, &a);
	assert_false(sg_learn_lookup(l, 4, other, 443, 1001, &got));

	/* Port 80 shows something else: its own record and the address's
	 * change, port 443 keeps its own. */
	sg_learn_note(l, 4, s, 80, &b, 2000);
	assert_int_equal(sg_learn_count(l), 3);
	assert_true(sg_learn_lookup(l, 4, s, 443, 2001, &got));
	assert_learned(&got, &a);
	assert_true(sg_learn_lookup(l, 4, s, 80, 2001, &got));
	assert_learned(&got, &b);
	assert_true(sg_learn_lookup(l, 4, s, 22, 2001, &got));
	assert_learned(&got, &b);

	/* IPv6, and an IPv6 address whose first bytes are the IPv4 one's. */
	v6(s6, 1, 5);
	v6(other6, 1, 6);
	memcpy(mapped, s, 4);
	assert_false(sg_learn_lookup(l, 6, mapped, 443, 2001, &got));
	sg_learn_note(l, 6, s6, 443, &b, 3000);
	assert_true(sg_learn_lookup(l, 6, s6, 443, 3001, &got));
	assert_learned(&got, &b);
	assert_true(sg_learn_lookup(l, 6, s6, 8443, 3001, &got));
	assert_learned(&got, &b);
	assert_false(sg_learn_lookup(l, 6, other6, 443, 3001, &got));
	assert_true(sg_learn_lookup(l, 4, s, 443, 3001, &got));
	assert_learned(&got, &a);

	/* Bad families are nobody. */
	sg_learn_note(l, 5, s, 443, &a, 3000);
	assert_false(sg_learn_lookup(l, 5, s, 443, 3001, &got));
	sg_learn_destroy(l);
}

/* A note says only what it knows: a SYN-ACK to a SYN that offered no
 * SACK says nothing about SACK, so an earlier answer stands; and a field
 * the (address, port) never learned comes from the address. */
static void test_a_note_changes_only_what_it_knows(void **state)
{
	(void)state;
	struct sg_learn *l = make(1024, 600);
	struct sg_learned full = opts(1460, 8, true, true), part = { .mss = 1380, .known = SG_LEARN_MSS };
	struct sg_learned want = full, got;
	uint8_t s[4];

	v4(s, 192, 0, 2, 1);
	sg_learn_note(l, 4, s, 443, &full, 0);
	sg_learn_note(l, 4, s, 443, &part, 10);
	want.mss = 1380;
	assert_true(sg_learn_lookup(l, 4, s, 443, 20, &got));
	assert_learned(&got, &want);

	/* Port 25 only ever learned its MSS: the rest is the address's. */
	part.mss = 1200;
	sg_learn_note(l, 4, s, 25, &part, 30);
	want.mss = 1200;
	assert_true(sg_learn_lookup(l, 4, s, 25, 40, &got));
	assert_learned(&got, &want);

	/* A note that knows nothing, or an MSS of 0, changes nothing. */
	part = (struct sg_learned){ .mss = 0, .known = SG_LEARN_MSS };
	sg_learn_note(l, 4, s, 25, &part, 50);
	assert_true(sg_learn_lookup(l, 4, s, 25, 60, &got));
	assert_learned(&got, &want);

	/* A WS above 14 is 14 (RFC 7323 §2.3); 15 is "does not scale". */
	part = (struct sg_learned){ .ws = 200, .known = SG_LEARN_WS };
	sg_learn_note(l, 4, s, 25, &part, 70);
	assert_true(sg_learn_lookup(l, 4, s, 25, 80, &got));
	assert_int_equal(got.ws, 14);
	sg_learn_destroy(l);
}

/* Records live ttl from their first note, then are learned afresh: a
 * refusal learned once does not outlive its ttl however busy the server. */
static void test_records_expire_and_are_learned_afresh(void **state)
{
	(void)state;
	struct sg_learn *l = make(64, 10);
	struct sg_learned no_sack = { .sack = false, .known = SG_LEARN_SACK };
	struct sg_learned mss = { .mss = 1400, .known = SG_LEARN_MSS }, got;
	uint8_t s[4];

	v4(s, 198, 51, 100, 1);
	sg_learn_note(l, 4, s, 443, &no_sack, 1000);
	for (uint32_t t = 1000; t < 11000; t += 500)
		sg_learn_note(l, 4, s, 443, &mss, t);   /* busy, but nothing new on SACK */
	assert_true(sg_learn_lookup(l, 4, s, 443, 10999, &got));
	assert_int_equal(got.known, SG_LEARN_SACK | SG_LEARN_MSS);
	assert_false(sg_learn_lookup(l, 4, s, 443, 11000, &got));
	sg_learn_note(l, 4, s, 443, &mss, 11000);
	assert_true(sg_learn_lookup(l, 4, s, 443, 11001, &got));
	assert_int_equal(got.known, SG_LEARN_MSS);
	/* A worker whose clock is a little behind the noting one's still
	 * finds the record. */
	assert_true(sg_learn_lookup(l, 4, s, 443, 10900, &got));
	sg_learn_destroy(l);
}

/* Each key finds its own record, among many, for keys differing in one
 * byte of the address, the port or the family. */
static void test_keys_are_exact(void **state)
{
	(void)state;
	struct sg_learn *l = make(16384, 600);
	struct sg_learned o, got;
	uint8_t a[16] = { 0 };

	for (unsigned i = 0; i < 200; i++) {
		v4(a, 10, 1, (uint8_t)(i >> 8), (uint8_t)i);
		o = opts((uint16_t)(600 + i), (uint8_t)(i % 15), i & 1, i & 2);
		sg_learn_note(l, 4, a, 0, &o, 0);
		v6(a, 2, (uint8_t)i);
		o.mss = (uint16_t)(1300 + i);
		sg_learn_note(l, 6, a, (uint16_t)(1000 + i), &o, 0);
	}
	assert_int_equal(sg_learn_count(l), 600);
	for (unsigned i = 0; i < 200; i++) {
		v4(a, 10, 1, (uint8_t)(i >> 8), (uint8_t)i);
		assert_true(sg_learn_lookup(l, 4, a, 80, 1, &got));
		assert_int_equal(got.mss, 600 + i);
		assert_int_equal(got.ws, i % 15);
		assert_int_equal(got.sack, !!(i & 1));
		assert_int_equal(got.ts, !!(i & 2));
		v4(a, 10, 1, 1, (uint8_t)i);        /* 10.1.1.x was never noted */
		assert_false(sg_learn_lookup(l, 4, a, 80, 1, &got));
		v6(a, 2, (uint8_t)i);
		assert_true(sg_learn_lookup(l, 6, a, (uint16_t)(1000 + i), 1, &got));
		assert_int_equal(got.mss, 1300 + i);
		v6(a, 3, (uint8_t)i);               /* another /64 */
		assert_false(sg_learn_lookup(l, 6, a, (uint16_t)(1000 + i), 1, &got));
		a[0] ^= 0x80;                       /* the first bit */
		assert_false(sg_learn_lookup(l, 6, a, (uint16_t)(1000 + i), 1, &got));
	}
	sg_learn_destroy(l);
}

/* One bucket of SG_LEARN_WAYS: when it is full a new record takes the
 * place of the one born first; an update does not make a record younger. */
static void test_a_full_bucket_evicts_the_oldest(void **state)
{
	(void)state;
	struct sg_learn *l = make(SG_LEARN_WAYS, 600);
	struct sg_learned o = opts(1400, 7, true, true), got;
	uint8_t a[4];

	for (uint8_t i = 0; i < SG_LEARN_WAYS; i++) {
		v4(a, 10, 0, 0, (uint8_t)(i + 1));
		o.mss = (uint16_t)(1000 + i);
		sg_learn_note(l, 4, a, 0, &o, 1000u * i);
	}
	assert_int_equal(sg_learn_count(l), SG_LEARN_WAYS);
	v4(a, 10, 0, 0, 1);
	o.mss = 999;                         /* the oldest, updated */
	sg_learn_note(l, 4, a, 0, &o, 9000);
	v4(a, 10, 0, 0, 99);
	sg_learn_note(l, 4, a, 0, &o, 10000);
	assert_int_equal(sg_learn_count(l), SG_LEARN_WAYS);
	assert_true(sg_learn_lookup(l, 4, a, 0, 10001, &got));
	v4(a, 10, 0, 0, 1);
	assert_false(sg_learn_lookup(l, 4, a, 0, 10001, &got));
	for (uint8_t i = 1; i < SG_LEARN_WAYS; i++) {
		v4(a, 10, 0, 0, (uint8_t)(i + 1));
		assert_true(sg_learn_lookup(l, 4, a, 0, 10001, &got));
		assert_int_equal(got.mss, 1000 + i);
	}
	/* Expired records go first, and a note's sweep takes them off the
	 * count. */
	v4(a, 10, 0, 0, 100);
	sg_learn_note(l, 4, a, 0, &o, 611000);   /* 2..4 and 99 expired by now */
	assert_true(sg_learn_lookup(l, 4, a, 0, 611001, &got));
	assert_int_equal(sg_learn_count(l), 1);
	sg_learn_destroy(l);
}

static struct sg_learn_pin pin4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t plen,
                                uint16_t port, struct sg_learned o)
{
	struct sg_learn_pin p = { .family = 4, .plen = plen, .port = port, .opts = o };

	v4(p.addr, a, b, c, d);
	return p;
}

/* The longest prefix wins; at one length a pin with the port beats one
 * without; each field comes from the most specific source that knows it,
 * pins before learned records. */
static void test_pins_most_specific_wins(void **state)
{
	(void)state;
	struct sg_learn *l = make(1024, 600);
	struct sg_learned m1200 = { .mss = 1200, .known = SG_LEARN_MSS }, got;
	struct sg_learned m1300 = m1200, m1350 = m1200, m1400 = m1200, m1450 = m1200;
	struct sg_learned no_ts = { .ts = false, .known = SG_LEARN_TS };
	struct sg_learned seen = opts(1460, 9, true, true);
	struct sg_learn_pin pins[8], list[8];
	uint8_t a[16];

	m1300.mss = 1300, m1350.mss = 1350, m1400.mss = 1400, m1450.mss = 1450;
	pins[0] = pin4(10, 0, 0, 0, 8, 0, m1200);
	pins[1] = pin4(10, 0, 0, 77, 24, 443, m1300);    /* host bits: cleared */
	pins[2] = pin4(10, 0, 0, 0, 24, 0, m1350);
	pins[3] = pin4(10, 0, 0, 5, 32, 0, m1400);
	pins[4] = pin4(10, 0, 0, 5, 32, 443, m1450);
	pins[5] = pin4(10, 0, 0, 0, 16, 0, no_ts);
	assert_int_equal(sg_learn_set_pins(l, pins, 6), 0);
	assert_int_equal(sg_learn_pins(l, list, 8), 6);
	assert_int_equal(list[1].addr[3], 0);
	assert_int_equal(list[1].plen, 24);
	assert_int_equal(list[1].port, 443);
	assert_int_equal(list[1].opts.mss, 1300);

	struct { uint8_t host[4]; uint16_t port; uint16_t mss; } cases[] = {
		{ { 10, 0, 0, 5 }, 443, 1450 },   /* /32 with port */
		{ { 10, 0, 0, 5 }, 80, 1400 },    /* /32 */
		{ { 10, 0, 0, 6 }, 443, 1300 },   /* /24 with port over /24 */
		{ { 10, 0, 0, 6 }, 80, 1350 },    /* /24 */
		{ { 10, 9, 0, 6 }, 443, 1200 },   /* /8 */
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_true(sg_learn_lookup(l, 4, cases[i].host, cases[i].port, 0, &got));
		assert_int_equal(got.mss, cases[i].mss);
	}
	/* TS from the /16 pin under the /8; nothing else is known. */
	v4(a, 10, 0, 3, 3);
	assert_true(sg_learn_lookup(l, 4, a, 1, 0, &got));
	assert_int_equal(got.known, SG_LEARN_MSS | SG_LEARN_TS);
	assert_false(got.ts);
	v4(a, 11, 0, 0, 5);
	assert_false(sg_learn_lookup(l, 4, a, 443, 0, &got));

	/* Learned fields fill in what pins leave. */
	v4(a, 10, 0, 0, 5);
	sg_learn_note(l, 4, a, 443, &seen, 0);
	assert_true(sg_learn_lookup(l, 4, a, 443, 1, &got));
	assert_int_equal(got.known, SG_LEARN_ALL);
	assert_int_equal(got.mss, 1450);
	assert_false(got.ts);
	assert_int_equal(got.ws, 9);
	assert_true(got.sack);

	/* The control socket: replace one, remove one, list. */
	pins[4].opts.mss = 1440;
	assert_int_equal(sg_learn_pin(l, &pins[4]), 0);
	assert_int_equal(sg_learn_pins(l, list, 8), 6);
	assert_true(sg_learn_lookup(l, 4, a, 443, 1, &got));
	assert_int_equal(got.mss, 1440);
	assert_int_equal(sg_learn_unpin(l, &pins[4]), 0);
	assert_int_equal(sg_learn_unpin(l, &pins[4]), -ENOENT);
	assert_true(sg_learn_lookup(l, 4, a, 443, 1, &got));
	assert_int_equal(got.mss, 1400);
	assert_int_equal(sg_learn_pins(l, list, 8), 5);
	assert_int_equal(list[4].plen, 16);                 /* order kept */
	assert_int_equal(sg_learn_pins(l, list, 2), 5);     /* copies 2, says 5 */

	/* IPv6: a /64 with a port and a /128 without. */
	struct sg_learn_pin p6 = { .family = 6, .plen = 64, .port = 443, .opts = m1300 };
	v6(p6.addr, 4, 0);
	assert_int_equal(sg_learn_pin(l, &p6), 0);
	p6.plen = 128;
	p6.port = 0;
	p6.addr[15] = 9;
	p6.opts.mss = 1280;
	assert_int_equal(sg_learn_pin(l, &p6), 0);
	v6(a, 4, 9);
	assert_true(sg_learn_lookup(l, 6, a, 443, 1, &got));
	assert_int_equal(got.mss, 1280);
	v6(a, 4, 10);
	assert_true(sg_learn_lookup(l, 6, a, 443, 1, &got));
	assert_int_equal(got.mss, 1300);
	assert_false(sg_learn_lookup(l, 6, a, 80, 1, &got));
	v6(a, 5, 9);
	assert_false(sg_learn_lookup(l, 6, a, 443, 1, &got));

	/* Replace-all, also with nothing. */
	assert_int_equal(sg_learn_set_pins(l, pins, 1), 0);
	assert_int_equal(sg_learn_pins(l, list, 8), 1);
	assert_int_equal(sg_learn_set_pins(l, NULL, 0), 0);
	assert_int_equal(sg_learn_pins(l, list, 8), 0);
	v4(a, 10, 0, 0, 6);
	assert_false(sg_learn_lookup(l, 4, a, 443, 1, &got));
	sg_learn_destroy(l);
}

static void test_bad_pins_change_nothing(void **state)
{
	(void)state;
	struct sg_learn *l = make(1024, 600);
	struct sg_learned m = { .mss = 1400, .known = SG_LEARN_MSS };
	struct sg_learn_pin pins[SG_LEARN_PINS_MAX + 1], list[4], p;

	pins[0] = pin4(10, 0, 0, 0, 8, 0, m);
	assert_int_equal(sg_learn_set_pins(l, pins, 1), 0);
	p = pin4(10, 0, 0, 0, 33, 0, m);
	assert_int_equal(sg_learn_pin(l, &p), -EINVAL);
	p = pin4(10, 0, 0, 0, 8, 0, m);
	p.family = 5;
	assert_int_equal(sg_learn_pin(l, &p), -EINVAL);
	p = pin4(10, 0, 0, 0, 8, 0, (struct sg_learned){ .mss = 500, .known = SG_LEARN_MSS });
	assert_int_equal(sg_learn_pin(l, &p), -EINVAL);
	p = pin4(10, 0, 0, 0, 8, 0, (struct sg_learned){ .ws = 16, .known = SG_LEARN_WS });
	assert_int_equal(sg_learn_pin(l, &p), -EINVAL);
	p = pin4(10, 0, 0, 0, 8, 0, (struct sg_learned){ .known = 0 });
	assert_int_equal(sg_learn_pin(l, &p), -EINVAL);
	/* Two pins for 10.0.0.0/8 (one with host bits) in one set. */
	pins[1] = pin4(10, 1, 2, 3, 8, 0, m);
	assert_int_equal(sg_learn_set_pins(l, pins, 2), -EINVAL);
	for (unsigned i = 0; i <= SG_LEARN_PINS_MAX; i++)
		pins[i] = pin4(10, (uint8_t)(i >> 8), (uint8_t)i, 0, 24, 0, m);
	assert_int_equal(sg_learn_set_pins(l, pins, SG_LEARN_PINS_MAX + 1), -ENOSPC);
	assert_int_equal(sg_learn_pins(l, list, 4), 1);
	assert_int_equal(sg_learn_set_pins(l, pins, SG_LEARN_PINS_MAX), 0);
	assert_int_equal(sg_learn_pin(l, &pins[SG_LEARN_PINS_MAX]), -ENOSPC);
	assert_int_equal(sg_learn_pin(l, &pins[7]), 0);    /* a replacement fits */
	assert_int_equal(sg_learn_pins(l, list, 4), SG_LEARN_PINS_MAX);
	sg_learn_destroy(l);
}

/* ---- concurrency ---- */

/* Each note is derived from one number x, so a lookup can tell a record
 * made of two notes: MSS = 600 + x, WS = x % 15, SACK, TS = bits of x / 15.
 * x's low 4 bits name the address, which a lookup must match.  Buckets are
 * few, so records are evicted and replaced all the time under readers. */
#define RACE_ADDRS 16
#define RACE_PORTS 4
#define RACE_MS    1000
#define RACE_NOW   1024

struct race {
	struct sg_learn *l;
	unsigned id;
	int *stop;
	uint64_t ops, hits, bad;
};

static void race_addr(uint8_t a[4], unsigned i)
{
	v4(a, 10, 7, 0, (uint8_t)i);
}

static struct sg_learned race_opts(uint32_t x)
{
	return opts((uint16_t)(600 + x), (uint8_t)(x % 15), (x / 15) & 1, (x / 30) & 1);
}

static void *race_writer(void *arg)
{
	struct race *r = arg;
	uint32_t rnd = 0x9e3779b9u * (r->id + 1);

	while (!__atomic_load_n(r->stop, __ATOMIC_RELAXED)) {
		uint8_t a[4];
		unsigned ai;
		uint32_t x;
		struct sg_learned o;

		rnd = rnd * 1664525u + 1013904223u;
		ai = (rnd >> 8) % RACE_ADDRS;
		x = ((rnd >> 16) % 4000u) * 16u + ai;
		o = race_opts(x);
		race_addr(a, ai);
		/* Clocks within RACE_NOW of each other: records differ in age
		 * but none expires or is from the readers' future. */
		sg_learn_note(r->l, 4, a, (uint16_t)(1 + (rnd >> 4) % RACE_PORTS), &o,
		              (uint32_t)r->ops % RACE_NOW);
		r->ops++;
	}
	return NULL;
}

/* Swaps two pin sets for address 0 under the readers. */
static void *race_pinner(void *arg)
{
	struct race *r = arg;
	struct sg_learn_pin p[2] = {
		pin4(10, 7, 0, 0, 32, 0, race_opts(16 * 100)),
		pin4(10, 7, 0, 0, 32, 0, race_opts(16 * 200)),
	};

	while (!__atomic_load_n(r->stop, __ATOMIC_RELAXED)) {
		if (sg_learn_set_pins(r->l, &p[r->ops & 1], 1))
			r->bad++;
		r->ops++;
	}
	return NULL;
}

static void *race_reader(void *arg)
{
	struct race *r = arg;
	uint32_t rnd = 0x7f4a7c15u * (r->id + 1);

	while (!__atomic_load_n(r->stop, __ATOMIC_RELAXED)) {
		struct sg_learned got, want;
		uint8_t a[4];
		unsigned ai;
		uint32_t x;

		rnd = rnd * 1664525u + 1013904223u;
		ai = (rnd >> 8) % RACE_ADDRS;
		race_addr(a, ai);
		if (sg_learn_lookup(r->l, 4, a, (uint16_t)(1 + (rnd >> 4) % RACE_PORTS), RACE_NOW,
		                    &got)) {
			r->hits++;
			x = got.mss - 600u;
			want = race_opts(x);
			if (got.known != SG_LEARN_ALL || x % 16 != ai || got.ws != want.ws ||
			    got.sack != want.sack || got.ts != want.ts)
				r->bad++;
		}
		r->ops++;
	}
	return NULL;
}

static void test_lookups_racing_notes_and_pins_see_whole_records(void **state)
{
	(void)state;
	struct sg_learn *l = make(16, 600);
	int stop = 0;
	struct race r[4];
	pthread_t th[4];
	void *(*fn[4])(void *) = { race_writer, race_writer, race_reader, race_pinner };
	struct timespec ts = { .tv_sec = RACE_MS / 1000, .tv_nsec = (RACE_MS % 1000) * 1000000L };

	for (unsigned i = 0; i < 4; i++) {
		r[i] = (struct race){ .l = l, .id = i, .stop = &stop };
		assert_int_equal(pthread_create(&th[i], NULL, fn[i], &r[i]), 0);
	}
	nanosleep(&ts, NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(r[i].bad, 0);
		assert_true(r[i].ops > 0);
	}
	assert_true(r[2].hits > 0);
	assert_true(sg_learn_count(l) <= 16);
	sg_learn_destroy(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_note_then_lookup_port_and_address),
		cmocka_unit_test(test_a_note_changes_only_what_it_knows),
		cmocka_unit_test(test_records_expire_and_are_learned_afresh),
		cmocka_unit_test(test_keys_are_exact),
		cmocka_unit_test(test_a_full_bucket_evicts_the_oldest),
		cmocka_unit_test(test_pins_most_specific_wins),
		cmocka_unit_test(test_bad_pins_change_nothing),
		cmocka_unit_test(test_lookups_racing_notes_and_pins_see_whole_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
