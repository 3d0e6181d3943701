/* The operator's policy: prefixes parse strictly, a set is checked field
 * by field, and a decision is the deny list, then the allow list, then the
 * first matching rule, then the default; the same as a plain linear
 * reading of the set, on random sets. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/policy.h"

static struct sg_prefix P(const char *s)
{
	struct sg_prefix p;

	if (sg_prefix_parse(s, &p))
		fail_msg("cannot parse %s", s);
	return p;
}

/* An address in 16 bytes; an IPv4 one in a 4-byte array of its own, which
 * decide must not read past (ASan). */
struct addr {
	uint8_t family;
	uint8_t b[16];
};

static struct addr A(const char *s)
{
	struct addr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, a.b) == 1)
		a.family = 4;
	else if (inet_pton(AF_INET6, s, a.b) == 1)
		a.family = 6;
	else
		fail_msg("not an address: %s", s);
	return a;
}

static enum sg_policy_action decide(const struct sg_policy_set *s, const char *src,
                                    const char *dst, uint16_t port)
{
	struct addr a = A(src), d = A(dst);

	assert_int_equal(a.family, d.family);
	if (a.family == 4) {
		uint8_t s4[4], d4[4];

		memcpy(s4, a.b, 4);
		memcpy(d4, d.b, 4);
		return sg_policy_decide(s, 4, s4, d4, port);
	}
	return sg_policy_decide(s, 6, a.b, d.b, port);
}

static struct sg_policy_set *new_set(void)
{
	struct sg_policy_set *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	return s;
}

static void rule(struct sg_policy_set *s, const char *dst, uint16_t lo, uint16_t hi,
                 enum sg_policy_action action)
{
	s->rule[s->nrules++] = (struct sg_policy_rule){ .dst = P(dst), .port_lo = lo, .port_hi = hi,
	                                                .action = action };
}

static void ready(struct sg_policy_set *s)
{
	struct sg_cfg_fault why;

	sg_policy_normalize(s);
	assert_int_equal(sg_policy_check(s, &why), 0);
}

static void test_action_names(void **state)
{
	(void)state;
	assert_string_equal(sg_policy_action_name(SG_ACTION_PROXY), "proxy");
	assert_string_equal(sg_policy_action_name(SG_ACTION_TRACK), "track");
	assert_string_equal(sg_policy_action_name(SG_ACTION_BYPASS), "bypass");
	assert_string_equal(sg_policy_action_name(SG_ACTION_DROP), "drop");
	assert_null(sg_policy_action_name(SG_POLICY_ACTIONS));
	assert_null(sg_policy_action_name((enum sg_policy_action)-1));
}

static void test_prefixes_parse_strictly(void **state)
{
	(void)state;
	struct sg_prefix p, untouched;
	static const struct {
		const char *s;
		uint8_t family, len;
		const char *addr;
	} good[] = {
		{ "192.0.2.0/24", 4, 24, "192.0.2.0" },
		{ "192.0.2.7", 4, 32, "192.0.2.7" },
		{ "192.0.2.7/32", 4, 32, "192.0.2.7" },
		{ "0.0.0.0/0", 4, 0, "0.0.0.0" },
		{ "10.0.0.0/8", 4, 8, "10.0.0.0" },
		{ "2001:db8::/32", 6, 32, "2001:db8::" },
		{ "2001:db8::7", 6, 128, "2001:db8::7" },
		{ "2001:db8::7/128", 6, 128, "2001:db8::7" },
		{ "::/0", 6, 0, "::" },
		{ "2001:db8:0:1::/64", 6, 64, "2001:db8:0:1::" },
		{ "2001:db8::8000:0:0:0/65", 6, 65, "2001:db8::8000:0:0:0" },
		{ "::/80", 6, 80, "::" },   /* holds ::ffff:0:0/96, is not in it */
		{ "::1.2.3.4", 6, 128, "::1.2.3.4" },
	};
	static const char *const bad[] = {
		"", "/24", "192.0.2.0/", "192.0.2.0/33", "192.0.2.0/024", "192.0.2.0/+8",
		"192.0.2.0/ 8", "192.0.2.0/8 ", " 192.0.2.0", "192.0.2.0/24/8", "192.0.2",
		"192.0.2.256", "01.2.3.4", "192.0.2.0/-1", "192.0.2.0/1000", "192.0.2.0/x",
		"192.0.2.1/24", "192.0.2.128/24", "0.0.0.1/0",          /* bits past the length */
		"2001:db8::/129", "2001:db8::1/64", "::1/0", "2001:db8::/32x",
		"fe80::1%eth0", "[2001:db8::]/32", "2001:db8:::/32", "1:2:3:4:5:6:7:8:9",
		"::ffff:192.0.2.1", "::ffff:192.0.2.0/120", "::ffff:0:0/96",   /* IPv4-mapped */
		"0123456789012345678901234567890123456789012345678901234567890123456789/8",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct addr a = A(good[i].addr);

		memset(&p, 0xaa, sizeof(p));
		assert_int_equal(sg_prefix_parse(good[i].s, &p), 0);
		assert_int_equal(p.family, good[i].family);
		assert_int_equal(p.len, good[i].len);
		assert_memory_equal(p.addr, a.b, 16);   /* IPv4: the rest zero */
	}
	memset(&untouched, 0xaa, sizeof(untouched));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = untouched;
		if (sg_prefix_parse(bad[i], &p) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_memory_equal(&p, &untouched, sizeof(p));
	}
	assert_int_equal(sg_prefix_parse(NULL, &p), -EINVAL);
}

#define SET(f) offsetof(struct sg_policy_set, f)
#define RULE(i, f) \
	(SET(rule) + (i) * sizeof(struct sg_policy_rule) + offsetof(struct sg_policy_rule, f))
#define ENTRY(l, i, f) (SET(l) + (i) * sizeof(struct sg_prefix) + offsetof(struct sg_prefix, f))

static void refused(const struct sg_policy_set *s, enum sg_cfg_rule rule, size_t off)
{
	struct sg_cfg_fault why = { SG_CFG_OK, 0 };

	assert_int_equal(sg_policy_check(s, &why), -1);
	assert_int_equal(why.rule, rule);
	assert_int_equal(why.off, off);
}

static void test_check_names_the_field(void **state)
{
	(void)state;
	struct sg_policy_set *s = new_set(), *t = new_set();
	struct sg_cfg_fault why;

	assert_int_equal(sg_policy_check(s, &why), 0);   /* all zero: proxy all */
	rule(s, "192.0.2.0/24", 22, 22, SG_ACTION_BYPASS);
	rule(s, "2001:db8::/32", 0, 65535, SG_ACTION_TRACK);
	rule(s, "0.0.0.0/0", 80, 443, SG_ACTION_DROP);
	rule(s, "::/0", 0, 0, SG_ACTION_PROXY);
	s->allow[s->nallow++] = P("198.51.100.0/24");
	s->deny[s->ndeny++] = P("203.0.113.0/24");
	s->deny[s->ndeny++] = P("2001:db8:bad::/48");
	assert_int_equal(sg_policy_check(s, &why), 0);

	*t = *s;
	t->nrules = SG_POLICY_RULES_MAX + 1;
	refused(t, SG_CFG_COUNT, SET(nrules));
	*t = *s;
	t->nallow = SG_POLICY_PREFIXES_MAX + 1;
	refused(t, SG_CFG_COUNT, SET(nallow));
	*t = *s;
	t->ndeny = SG_POLICY_PREFIXES_MAX + 1;
	refused(t, SG_CFG_COUNT, SET(ndeny));
	*t = *s;
	t->default_action = SG_POLICY_ACTIONS;
	refused(t, SG_CFG_RANGE, SET(default_action));
	*t = *s;
	t->rule[2].port_lo = 444;
	refused(t, SG_CFG_RANGE, RULE(2, port_lo));
	*t = *s;
	t->rule[3].action = (enum sg_policy_action)7;
	refused(t, SG_CFG_RANGE, RULE(3, action));
	*t = *s;
	t->rule[1].dst.family = 5;
	refused(t, SG_CFG_RANGE, RULE(1, dst.family));
	*t = *s;
	t->rule[0].dst.len = 33;
	refused(t, SG_CFG_RANGE, RULE(0, dst.len));
	*t = *s;
	t->rule[1].dst.len = 129;
	refused(t, SG_CFG_RANGE, RULE(1, dst.len));
	*t = *s;
	t->rule[0].dst.addr[3] = 1;                   /* past /24 */
	refused(t, SG_CFG_RANGE, RULE(0, dst.addr));
	*t = *s;
	t->rule[2].dst.addr[4] = 1;                   /* IPv4: 4 bytes only */
	refused(t, SG_CFG_RANGE, RULE(2, dst.addr));
	*t = *s;
	t->deny[1].addr[15] = 1;
	refused(t, SG_CFG_RANGE, ENTRY(deny, 1, addr));
	*t = *s;
	t->allow[0].family = 0;
	refused(t, SG_CFG_RANGE, ENTRY(allow, 0, family));
	*t = *s;
	t->deny[0] = P("::/80");
	t->deny[0].len = 96;
	t->deny[0].addr[10] = t->deny[0].addr[11] = 0xff;
	refused(t, SG_CFG_RANGE, ENTRY(deny, 0, addr));

	/* Lists in order, none inside another: normalize makes them so. */
	*t = *s;
	t->deny[0] = P("2001:db8:bad::/48");
	t->deny[1] = P("203.0.113.0/24");             /* IPv4 before IPv6 */
	refused(t, SG_CFG_ORDER, ENTRY(deny, 1, family));
	*t = *s;
	t->allow[t->nallow++] = P("198.51.100.128/25");
	refused(t, SG_CFG_ORDER, ENTRY(allow, 1, family));
	*t = *s;
	t->allow[t->nallow++] = P("198.51.100.0/24");
	refused(t, SG_CFG_ORDER, ENTRY(allow, 1, family));
	*t = *s;
	t->allow[t->nallow++] = P("198.51.99.0/24");
	refused(t, SG_CFG_ORDER, ENTRY(allow, 1, family));
	sg_policy_normalize(t);
	assert_int_equal(sg_policy_check(t, &why), 0);
	/* Adjacent is not overlapping. */
	*t = *s;
	t->allow[t->nallow++] = P("198.51.101.0/24");
	assert_int_equal(sg_policy_check(t, &why), 0);
	/* A list with an invalid entry is left where the caller put it. */
	*t = *s;
	t->deny[t->ndeny++] = P("192.0.2.0/24");
	t->deny[t->ndeny] = P("192.0.2.0/24");
	t->deny[t->ndeny++].len = 40;
	sg_policy_normalize(t);
	refused(t, SG_CFG_RANGE, ENTRY(deny, 3, len));
	free(s);
	free(t);
}

static void test_normalize_sorts_and_drops_covered_entries(void **state)
{
	(void)state;
	struct sg_policy_set *s = new_set();
	static const char *const in[] = {
		"2001:db8:1::/48", "10.1.0.0/16", "10.0.0.0/8", "192.0.2.7", "2001:db8:1:2::/64",
		"10.1.2.0/24", "192.0.2.7", "0.0.0.0/1", "192.0.2.0/31", "2001:db8::/47",
		"128.0.0.0/2", "2001:db8::/48",
	};
	static const char *const out[] = {
		"0.0.0.0/1", "128.0.0.0/2", "192.0.2.0/31", "192.0.2.7", "2001:db8::/47",
	};

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		s->deny[s->ndeny++] = P(in[i]);
	ready(s);
	assert_int_equal(s->ndeny, sizeof(out) / sizeof(out[0]));
	for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
		struct sg_prefix p = P(out[i]);

		assert_memory_equal(&s->deny[i], &p, sizeof(p));
	}
	/* Normalized twice: the same. */
	struct sg_policy_set *t = new_set();
	*t = *s;
	sg_policy_normalize(t);
	assert_memory_equal(t, s, sizeof(*s));
	free(s);
	free(t);
}

/* The first rule that matches decides, however broader rules overlap. */
static void test_first_match_wins(void **state)
{
	(void)state;
	struct sg_policy_set *s = new_set();

	rule(s, "192.0.2.10", 22, 22, SG_ACTION_BYPASS);          /* one port, before */
	rule(s, "192.0.2.0/24", 1, 1024, SG_ACTION_TRACK);        /* broader */
	rule(s, "192.0.2.10", 25, 25, SG_ACTION_DROP);            /* one port, after: shadowed */
	rule(s, "192.0.2.0/24", 8000, 8099, SG_ACTION_DROP);
	rule(s, "192.0.2.128/25", 8050, 9000, SG_ACTION_BYPASS);
	rule(s, "0.0.0.0/0", 0, 65535, SG_ACTION_PROXY);          /* everything else */
	rule(s, "192.0.2.0/24", 0, 65535, SG_ACTION_DROP);        /* never reached */
	s->default_action = SG_ACTION_DROP;
	ready(s);

	const char *c = "198.51.100.1";
	assert_int_equal(decide(s, c, "192.0.2.10", 22), SG_ACTION_BYPASS);
	assert_int_equal(decide(s, c, "192.0.2.11", 22), SG_ACTION_TRACK);
	assert_int_equal(decide(s, c, "192.0.2.10", 25), SG_ACTION_TRACK);
	assert_int_equal(decide(s, c, "192.0.2.10", 1), SG_ACTION_TRACK);
	assert_int_equal(decide(s, c, "192.0.2.10", 1024), SG_ACTION_TRACK);
	assert_int_equal(decide(s, c, "192.0.2.10", 0), SG_ACTION_PROXY);
	assert_int_equal(decide(s, c, "192.0.2.10", 1025), SG_ACTION_PROXY);
	assert_int_equal(decide(s, c, "192.0.2.10", 7999), SG_ACTION_PROXY);
	assert_int_equal(decide(s, c, "192.0.2.10", 8000), SG_ACTION_DROP);
	assert_int_equal(decide(s, c, "192.0.2.200", 8099), SG_ACTION_DROP);
	assert_int_equal(decide(s, c, "192.0.2.200", 8100), SG_ACTION_BYPASS);
	assert_int_equal(decide(s, c, "192.0.2.200", 9000), SG_ACTION_BYPASS);
	assert_int_equal(decide(s, c, "192.0.2.200", 9001), SG_ACTION_PROXY);
	assert_int_equal(decide(s, c, "192.0.2.100", 8100), SG_ACTION_PROXY);
	assert_int_equal(decide(s, c, "192.0.3.10", 22), SG_ACTION_PROXY);
	assert_int_equal(decide(s, c, "255.255.255.255", 65535), SG_ACTION_PROXY);
	/* No rule for IPv6: the default. */
	assert_int_equal(decide(s, "2001:db8::1", "2001:db8::2", 22), SG_ACTION_DROP);
	free(s);
}

static void test_deny_beats_allow_beats_rules(void **state)
{
	(void)state;
	struct sg_policy_set *s = new_set();
	const char *srv = "192.0.2.10", *srv6 = "2001:db8:5::10";

	rule(s, srv, 22, 22, SG_ACTION_DROP);
	rule(s, srv, 80, 80, SG_ACTION_BYPASS);
	rule(s, "2001:db8:5::/48", 0, 65535, SG_ACTION_DROP);
	s->allow[s->nallow++] = P("198.51.100.0/24");
	s->allow[s->nallow++] = P("2001:db8:a::/48");
	s->deny[s->ndeny++] = P("198.51.100.66");
	s->deny[s->ndeny++] = P("203.0.113.0/24");
	s->deny[s->ndeny++] = P("2001:db8:a:bad::/64");
	ready(s);

	/* Allowed: tracked whatever the rules say. */
	assert_int_equal(decide(s, "198.51.100.1", srv, 22), SG_ACTION_TRACK);
	assert_int_equal(decide(s, "198.51.100.1", srv, 80), SG_ACTION_TRACK);
	assert_int_equal(decide(s, "198.51.100.1", srv, 443), SG_ACTION_TRACK);
	assert_int_equal(decide(s, "2001:db8:a:1::1", srv6, 443), SG_ACTION_TRACK);
	/* Denied: dropped, also inside an allowed prefix. */
	assert_int_equal(decide(s, "198.51.100.66", srv, 443), SG_ACTION_DROP);
	assert_int_equal(decide(s, "203.0.113.9", srv, 80), SG_ACTION_DROP);
	assert_int_equal(decide(s, "2001:db8:a:bad::1", srv6, 443), SG_ACTION_DROP);
	/* Neither: the rules, then the default. */
	assert_int_equal(decide(s, "198.51.101.1", srv, 22), SG_ACTION_DROP);
	assert_int_equal(decide(s, "198.51.101.1", srv, 80), SG_ACTION_BYPASS);
	assert_int_equal(decide(s, "198.51.101.1", srv, 443), SG_ACTION_PROXY);
	assert_int_equal(decide(s, "2001:db8:b::1", srv6, 443), SG_ACTION_DROP);
	assert_int_equal(decide(s, "2001:db8:b::1", "2001:db8:6::10", 443), SG_ACTION_PROXY);
	/* The same bytes in the other family are another address. */
	assert_int_equal(decide(s, "c633:6401::", "c000:20a::", 22), SG_ACTION_PROXY);
	free(s);
}

static void test_lengths_zero_and_full(void **state)
{
	(void)state;
	struct sg_policy_set *s = new_set();

	rule(s, "192.0.2.10/32", 0, 65535, SG_ACTION_BYPASS);
	rule(s, "0.0.0.0/0", 0, 65535, SG_ACTION_TRACK);
	rule(s, "2001:db8::10/128", 0, 65535, SG_ACTION_BYPASS);
	rule(s, "2001:db8::/127", 0, 65535, SG_ACTION_DROP);
	rule(s, "::/0", 0, 65535, SG_ACTION_TRACK);
	ready(s);
	assert_int_equal(decide(s, "1.1.1.1", "192.0.2.10", 1), SG_ACTION_BYPASS);
	assert_int_equal(decide(s, "1.1.1.1", "192.0.2.11", 1), SG_ACTION_TRACK);
	assert_int_equal(decide(s, "1.1.1.1", "0.0.0.0", 1), SG_ACTION_TRACK);
	assert_int_equal(decide(s, "1::1", "2001:db8::10", 1), SG_ACTION_BYPASS);
	assert_int_equal(decide(s, "1::1", "2001:db8::11", 1), SG_ACTION_TRACK);
	assert_int_equal(decide(s, "1::1", "2001:db8::1", 1), SG_ACTION_DROP);
	assert_int_equal(decide(s, "1::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1),
	                 SG_ACTION_TRACK);
	free(s);

	/* A list of one /0 holds every address of its family only. */
	s = new_set();
	s->deny[s->ndeny++] = P("::/0");
	s->allow[s->nallow++] = P("0.0.0.0/0");
	s->allow[s->nallow++] = P("2001:db8::1");   /* denied anyway */
	ready(s);
	assert_int_equal(decide(s, "2001:db8::1", "2001:db8::2", 80), SG_ACTION_DROP);
	assert_int_equal(decide(s, "::", "::", 80), SG_ACTION_DROP);
	assert_int_equal(decide(s, "0.0.0.0", "192.0.2.1", 80), SG_ACTION_TRACK);
	assert_int_equal(decide(s, "255.255.255.255", "192.0.2.1", 80), SG_ACTION_TRACK);
	free(s);
}

/* ---- against a linear reading of the set, on random sets ---- */

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

/* Addresses from a small space, so prefixes overlap and match often. */
static struct addr random_addr(uint8_t family)
{
	struct addr a;

	memset(&a, 0, sizeof(a));
	a.family = family;
	if (family == 4) {
		a.b[0] = (uint8_t)(rnd(2) ? 10 : 200);
		a.b[1] = (uint8_t)rnd(2);
		a.b[2] = (uint8_t)(rnd(4) * 64);
		a.b[3] = (uint8_t)rnd(256);
	} else {
		a.b[0] = 0x20;
		a.b[1] = (uint8_t)(rnd(2) ? 0x01 : 0x02);
		a.b[7] = (uint8_t)(rnd(4) * 64);
		a.b[8] = (uint8_t)(rnd(2) * 128);
		a.b[15] = (uint8_t)rnd(256);
	}
	return a;
}

static bool in_prefix(const struct sg_prefix *p, uint8_t family, const uint8_t *a)
{
	unsigned full = p->len / 8, rest = p->len % 8;

	if (p->family != family || memcmp(p->addr, a, full))
		return false;
	return !rest || !((p->addr[full] ^ a[full]) & (0xff00u >> rest));
}

static struct sg_prefix random_prefix(void)
{
	uint8_t family = rnd(2) ? 4 : 6;
	struct addr a = random_addr(family);
	unsigned max = family == 4 ? 32 : 128;
	struct sg_prefix p = { .family = family };

	/* Lengths near the bits the addresses differ in, and 0 and full. */
	p.len = (uint8_t)(rnd(8) == 0 ? (rnd(2) ? 0 : max) : rnd(max + 1));
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = p.len > 8 * i ? p.len - 8 * i : 0;

		p.addr[i] = bits >= 8 ? a.b[i] : (uint8_t)(a.b[i] & (0xff00u >> bits));
	}
	return p;
}

static enum sg_policy_action linear(const struct sg_policy_set *s, uint8_t family,
                                    const uint8_t *src, const uint8_t *dst, uint16_t port)
{
	for (unsigned i = 0; i < s->ndeny; i++)
		if (in_prefix(&s->deny[i], family, src))
			return SG_ACTION_DROP;
	for (unsigned i = 0; i < s->nallow; i++)
		if (in_prefix(&s->allow[i], family, src))
			return SG_ACTION_TRACK;
	for (unsigned i = 0; i < s->nrules; i++) {
		const struct sg_policy_rule *r = &s->rule[i];

		if (port >= r->port_lo && port <= r->port_hi && in_prefix(&r->dst, family, dst))
			return r->action;
	}
	return s->default_action;
}

static void test_decisions_match_a_linear_reading(void **state)
{
	(void)state;
	struct sg_policy_set *given = new_set(), *s = new_set();
	unsigned seen[SG_POLICY_ACTIONS] = { 0 };

	for (unsigned round = 0; round < 300; round++) {
		memset(given, 0, sizeof(*given));
		given->nrules = rnd(12);
		for (unsigned i = 0; i < given->nrules; i++) {
			uint16_t lo = (uint16_t)rnd(4), hi = (uint16_t)(lo + rnd(4));

			given->rule[i] = (struct sg_policy_rule){ .dst = random_prefix(), .port_lo = lo,
			                                          .port_hi = hi,
			                                          .action = rnd(SG_POLICY_ACTIONS) };
		}
		given->nallow = rnd(round % 3 ? 10 : 200);
		for (unsigned i = 0; i < given->nallow; i++)
			given->allow[i] = random_prefix();
		given->ndeny = rnd(round % 2 ? 6 : 100);
		for (unsigned i = 0; i < given->ndeny; i++)
			given->deny[i] = random_prefix();
		given->default_action = rnd(SG_POLICY_ACTIONS);
		*s = *given;
		ready(s);
		for (unsigned q = 0; q < 200; q++) {
			uint8_t family = rnd(2) ? 4 : 6;
			struct addr a = random_addr(family), d = random_addr(family);
			uint16_t port = (uint16_t)rnd(8);
			enum sg_policy_action want = linear(given, family, a.b, d.b, port);

			assert_int_equal(sg_policy_decide(s, family, a.b, d.b, port), want);
			seen[want]++;
		}
	}
	/* Every outcome was exercised. */
	for (unsigned i = 0; i < SG_POLICY_ACTIONS; i++)
		assert_true(seen[i] > 1000);
	free(given);
	free(s);
}

/* Full lists and rules: still checked and decided right; and the set is
 * one block (a copy decides the same once the original is gone). */
static void test_largest_set_is_self_contained(void **state)
{
	(void)state;
	struct sg_policy_set *s = new_set(), *copy = malloc(sizeof(*s));
	struct sg_cfg_fault why;
	uint8_t src[4], dst[4] = { 192, 0, 2, 1 };

	assert_non_null(copy);
	for (unsigned i = 0; i < SG_POLICY_PREFIXES_MAX; i++) {
		/* Deny every other /32 of 10.0.0.0/21, in reverse order; allow
		 * 10.0.8.0/21's /32s. */
		uint32_t d = 0x0a000000u + 2 * (SG_POLICY_PREFIXES_MAX - 1 - i);
		uint32_t a = 0x0a000800u + i;

		s->deny[i] = (struct sg_prefix){ .family = 4, .len = 32,
		                                 .addr = { (uint8_t)(d >> 24), (uint8_t)(d >> 16),
		                                           (uint8_t)(d >> 8), (uint8_t)d } };
		s->allow[i] = (struct sg_prefix){ .family = 4, .len = 32,
		                                  .addr = { (uint8_t)(a >> 24), (uint8_t)(a >> 16),
		                                            (uint8_t)(a >> 8), (uint8_t)a } };
	}
	s->ndeny = s->nallow = SG_POLICY_PREFIXES_MAX;
	for (unsigned i = 0; i < SG_POLICY_RULES_MAX; i++)
		s->rule[i] = (struct sg_policy_rule){ .dst = P("192.0.2.0/24"), .port_lo = (uint16_t)i,
		                                      .port_hi = (uint16_t)i,
		                                      .action = i % 2 ? SG_ACTION_BYPASS : SG_ACTION_DROP };
	s->nrules = SG_POLICY_RULES_MAX;
	assert_int_equal(sg_policy_check(s, &why), -1);   /* deny not sorted */
	assert_int_equal(why.rule, SG_CFG_ORDER);
	ready(s);
	assert_int_equal(s->ndeny, SG_POLICY_PREFIXES_MAX);
	memcpy(copy, s, sizeof(*s));
	memset(s, 0xee, sizeof(*s));
	free(s);
	for (uint32_t h = 0; h < 4096; h++) {
		uint32_t v = 0x0a000000u + h;
		enum sg_policy_action want;

		if (h < 2048)          /* denied if even, else the rule */
			want = h % 2 ? SG_ACTION_BYPASS : SG_ACTION_DROP;
		else if (h < 2048 + SG_POLICY_PREFIXES_MAX)
			want = SG_ACTION_TRACK;
		else
			want = SG_ACTION_BYPASS;

		src[0] = (uint8_t)(v >> 24);
		src[1] = (uint8_t)(v >> 16);
		src[2] = (uint8_t)(v >> 8);
		src[3] = (uint8_t)v;
		assert_int_equal(sg_policy_decide(copy, 4, src, dst, 1), want);
	}
	assert_int_equal(sg_policy_decide(copy, 4, src, dst, 255), SG_ACTION_BYPASS);
	assert_int_equal(sg_policy_decide(copy, 4, src, dst, 256), SG_ACTION_PROXY);
	free(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_action_names),
		cmocka_unit_test(test_prefixes_parse_strictly),
		cmocka_unit_test(test_check_names_the_field),
		cmocka_unit_test(test_normalize_sorts_and_drops_covered_entries),
		cmocka_unit_test(test_first_match_wins),
		cmocka_unit_test(test_deny_beats_allow_beats_rules),
		cmocka_unit_test(test_lengths_zero_and_full),
		cmocka_unit_test(test_decisions_match_a_linear_reading),
		cmocka_unit_test(test_largest_set_is_self_contained),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
