/* Connection table: identity, bounds, eviction policy, timers, reclamation
 * and concurrent use. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "resident.h"

#include "core/conntrack.h"

/* A fixed hash key: the tests are deterministic. */
static const uint8_t hash_key[SG_CT_HASH_KEY_BYTES] = {
	0x3a, 0x91, 0x5c, 0x07, 0xe2, 0x44, 0xbd, 0x18, 0x6f, 0xc3, 0x29, 0x80, 0x5e, 0x17, 0xa4, 0xfb,
	0x02, 0x6d, 0x99, 0x31, 0xce, 0x58, 0x7b, 0xe0, 0x14, 0xaf, 0x43, 0x86, 0x3d, 0xd2, 0x65, 0x0c,
	0xb8, 0x27, 0x71, 0xea, 0x4f, 0x9c, 0x13, 0x56, 0xf1, 0x2e, 0x88, 0x6a, 0xd7, 0x35, 0xc9, 0x50,
	0x1b, 0x74, 0xa6, 0x0f, 0xe9, 0x42, 0x97, 0x2c,
};

static int create(const struct sg_ct_config *cfg, unsigned nworkers, struct sg_ct **ct)
{
	return sg_ct_create(cfg, nworkers, hash_key, ct);
}

static struct sg_conn *lookup(struct sg_ct *ct, unsigned worker, const struct sg_flow *k)
{
	return sg_ct_lookup(ct, worker, k, sg_ct_hash(ct, k));
}

static struct sg_conn *insert(struct sg_ct *ct, unsigned worker, const struct sg_flow *k,
                              enum sg_ct_state state, uint32_t now_ms,
                              struct sg_conn **existing, int *err)
{
	return sg_ct_insert(ct, worker, k, sg_ct_hash(ct, k), state, NULL, now_ms, existing, err);
}

static struct sg_ct *make_ct(uint32_t capacity, unsigned nworkers)
{
	struct sg_ct_config cfg;
	struct sg_ct *ct = NULL;

	sg_ct_config_default(&cfg);
	cfg.capacity = capacity;
	assert_int_equal(create(&cfg, nworkers, &ct), 0);
	return ct;
}

static void key4(struct sg_flow *k, uint32_t n, uint16_t vid)
{
	uint8_t wan[4] = { 198, 51, (uint8_t)(n >> 8), (uint8_t)n };
	uint8_t lan[4] = { 192, 0, 2, 10 };

	sg_flow_make(k, 4, wan, (uint16_t)(1024 + (n >> 16)), lan, 80, vid, 0);
}

static void key6(struct sg_flow *k, uint32_t n)
{
	uint8_t wan[16] = { 0x20, 0x01, 0x0d, 0xb8, 1 };
	uint8_t lan[16] = { 0x20, 0x01, 0x0d, 0xb8, 2 };

	memcpy(wan + 12, &n, 4);
	sg_flow_make(k, 6, wan, 40000, lan, 443, 0, 0);
}

static struct sg_conn *insert_ok(struct sg_ct *ct, unsigned w, const struct sg_flow *k,
                                 enum sg_ct_state s, uint32_t now)
{
	struct sg_conn *ex;
	int err = 1;
	struct sg_conn *c = insert(ct, w, k, s, now, &ex, &err);

	assert_non_null(c);
	assert_int_equal(err, 0);
	return c;
}

static void test_insert_then_lookup_finds_the_same_entry_v4_v6(void **state)
{
	(void)state;
	struct sg_ct *ct = make_ct(1024, 1);
	struct sg_flow a, b;

	key4(&a, 1, 0);
	key6(&b, 1);
	struct sg_conn *ca = insert_ok(ct, 0, &a, SG_CT_SYN_SENT, 0);
	struct sg_conn *cb = insert_ok(ct, 0, &b, SG_CT_ESTABLISHED, 0);

	assert_ptr_equal(lookup(ct, 0, &a), ca);
	assert_ptr_equal(lookup(ct, 0, &b), cb);
	assert_int_equal(sg_ct_state_get(ca), SG_CT_SYN_SENT);
	assert_int_equal(sg_ct_count(ct), 2);
	sg_ct_destroy(ct);
}

static void test_count_states_counts_each_entry_once_by_its_state(void **state)
{
	(void)state;
	struct sg_ct *ct = make_ct(1024, 2);
	uint32_t n[SG_CT_STATE_COUNT];
	struct sg_flow k;
	struct sg_conn *c;

	for (uint32_t i = 0; i < 5; i++) {
		key4(&k, i, 0);
		insert_ok(ct, i & 1, &k, i < 3 ? SG_CT_ESTABLISHED : SG_CT_SYN_SENT, 0);
	}
	key4(&k, 0, 0);
	c = lookup(ct, 0, &k);
	assert_int_equal(sg_ct_set_state(ct, 0, c, SG_CT_TIME_WAIT, 0), 0);
	sg_ct_count_states(ct, n);
	assert_int_equal(n[SG_CT_ESTABLISHED], 2);
	assert_int_equal(n[SG_CT_SYN_SENT], 2);
	assert_int_equal(n[SG_CT_TIME_WAIT], 1);
	assert_int_equal(n[SG_CT_FREE], sg_ct_capacity(ct) - 5);
	sg_ct_destroy(ct);
}

static void test_other_vlan_ports_or_family_is_another_flow(void **state)
{
	(void)state;
	struct sg_ct *ct = make_ct(1024, 1);
	struct sg_flow k, other;

	key4(&k, 7, 100);
	insert_ok(ct, 0, &k, SG_CT_ESTABLISHED, 0);

	key4(&other, 7, 101);                  /* another VLAN id */
	assert_null(lookup(ct, 0, &other));
	key4(&other, 7, 0);                    /* untagged */
	assert_null(lookup(ct, 0, &other));
	other = k;                             /* ports swapped */
	other.wan_port = k.lan_port;
	other.lan_port = k.wan_port;
	assert_null(lookup(ct, 0, &other));
	other = k;                             /* second tag differs */
	other.vid[1] = 5;
	assert_null(lookup(ct, 0, &other));
	/* The same addresses as IPv6 (v4 bytes then zeros) are not the flow. */
	sg_flow_make(&other, 6, k.wan_addr, k.wan_port, k.lan_addr, k.lan_port, 100, 0);
	assert_null(lookup(ct, 0, &other));
	assert_non_null(lookup(ct, 0, &k));
	sg_ct_destroy(ct);
}

/* flow.h's layout, which the cookies and the frames built from an entry
 * read field by field: an IPv4 address in the first 4 bytes, the rest of
 * the 16 zero, on any byte order (sg_flow_make stores it in 8-byte
 * words, and a zero-extended integer lands in the last 4 bytes of its
 * word on a big-endian host). */
static void test_flow_make_puts_ipv4_addresses_in_the_first_bytes(void **state)
{
	(void)state;
	static const uint8_t zero[12];
	uint8_t wan[4] = { 198, 51, 100, 7 }, lan[4] = { 192, 0, 2, 10 };
	struct sg_flow k;

	memset(&k, 0xa5, sizeof(k));
	sg_flow_make(&k, 4, wan, 40000, lan, 443, 100, 200);
	assert_memory_equal(k.wan_addr, wan, 4);
	assert_memory_equal(k.wan_addr + 4, zero, 12);
	assert_memory_equal(k.lan_addr, lan, 4);
	assert_memory_equal(k.lan_addr + 4, zero, 12);
	assert_int_equal(k.wan_port, 40000);
	assert_int_equal(k.lan_port, 443);
	assert_int_equal(k.vid[0], 100);
	assert_int_equal(k.vid[1], 200);
	assert_int_equal(k.family, 4);
	assert_memory_equal(k.pad, zero, 3);
}

static void test_duplicate_insert_returns_existing(void **state)
{
	(void)state;
	struct sg_ct *ct = make_ct(64, 1);
	struct sg_flow k;
	struct sg_conn *ex = NULL;
	int err = 0;

	key4(&k, 3, 0);
	struct sg_conn *c = insert_ok(ct, 0, &k, SG_CT_SYN_SENT, 0);
	assert_null(insert(ct, 0, &k, SG_CT_SYN_SENT, 0, &ex, &err));
	assert_int_equal(err, -EEXIST);
	assert_ptr_equal(ex, c);
	assert_int_equal(sg_ct_count(ct), 1);
	assert_int_equal(sg_ct_stats(ct, 0)->c[SG_CT_STAT_INSERT_EXISTS], 1);
	sg_ct_destroy(ct);
}

static void test_full_table_of_established_refuses_and_never_grows(void **state)
{
	(void)state;
	const uint32_t cap = 256;
	struct sg_ct *ct = make_ct(cap, 1);
	struct sg_flow k;
	struct sg_conn *ex;
	int err;

	for (uint32_t i = 0; i < cap; i++) {
		key4(&k, i, 0);
		insert_ok(ct, 0, &k, SG_CT_ESTABLISHED, 0);
	}
	assert_int_equal(sg_ct_count(ct), cap);
	for (uint32_t i = cap; i < cap + 10; i++) {
		key4(&k, i, 0);
		assert_null(insert(ct, 0, &k, SG_CT_SYN_SENT, 0, &ex, &err));
		assert_int_equal(err, -ENOSPC);
	}
	assert_int_equal(sg_ct_count(ct), cap);
	assert_int_equal(sg_ct_stats(ct, 0)->c[SG_CT_STAT_INSERT_FULL], 10);
	for (uint32_t i = 0; i < cap; i++) {
		key4(&k, i, 0);
		assert_non_null(lookup(ct, 0, &k));
	}
	sg_ct_destroy(ct);
}

static void test_full_table_evicts_closing_before_embryonic(void **state)
{
	(void)state;
	const uint32_t cap = 64;
	struct sg_ct *ct = make_ct(cap, 1);
	struct sg_flow k;
	uint32_t i;

	/* 60 established, 2 embryonic, 2 closing (TIME_WAIT, CLOSED). */
	for (i = 0; i < 60; i++) {
		key4(&k, i, 0);
		insert_ok(ct, 0, &k, SG_CT_ESTABLISHED, 0);
	}
	key4(&k, 60, 0); insert_ok(ct, 0, &k, SG_CT_SYN_SENT, 100);
	key4(&k, 61, 0); insert_ok(ct, 0, &k, SG_CT_UP_SYN_SENT, 50);
	key4(&k, 62, 0); insert_ok(ct, 0, &k, SG_CT_TIME_WAIT, 0);
	key4(&k, 63, 0); insert_ok(ct, 0, &k, SG_CT_CLOSED, 0);

	key4(&k, 100, 0); insert_ok(ct, 0, &k, SG_CT_SYN_SENT, 200);
	key4(&k, 101, 0); insert_ok(ct, 0, &k, SG_CT_SYN_SENT, 200);
	assert_int_equal(sg_ct_stats(ct, 0)->c[SG_CT_STAT_EVICT_CLOSING], 2);
	assert_int_equal(sg_ct_stats(ct, 0)->c[SG_CT_STAT_EVICT_EMBRYONIC], 0);
	key4(&k, 62, 0); assert_null(lookup(ct, 0, &k));
	key4(&k, 63, 0); assert_null(lookup(ct, 0, &k));

	/* No closing left: the oldest embryonic (61, inserted at 50) goes. */
	key4(&k, 102, 0); insert_ok(ct, 0, &k, SG_CT_SYN_SENT, 300);
	assert_int_equal(sg_ct_stats(ct, 0)->c[SG_CT_STAT_EVICT_EMBRYONIC], 1);
	key4(&k, 61, 0); assert_null(lookup(ct, 0, &k));
	key4(&k, 60, 0); assert_non_null(lookup(ct, 0, &k));
	assert_int_equal(sg_ct_count(ct), cap);
	sg_ct_destroy(ct);
}

/* Runs the wheel in 10 ms steps from `from` to `to`; returns how many
 * entries it freed. */
static unsigned run_wheel(struct sg_ct *ct, uint32_t from, uint32_t to)
{
	unsigned n = 0;

	for (uint32_t t = from; t <= to; t += 10)
		n += sg_ct_expire(ct, 0, t, NULL, NULL, 1000000);
	return n;
}

static void test_each_state_times_out_at_its_timeout_not_before(void **state)
{
	(void)state;
	struct sg_ct_config cfg;

	sg_ct_config_default(&cfg);
	for (unsigned s = SG_CT_SYN_SENT; s < SG_CT_STATE_COUNT; s++) {
		struct sg_ct *ct = make_ct(64, 1);
		struct sg_flow k;
		uint32_t t0 = 5000, tmo = cfg.timeout_s[s] * 1000u;

		key4(&k, s, 0);
		insert_ok(ct, 0, &k, (enum sg_ct_state)s, t0);
		/* Jump close to the deadline in big steps, as a worker that was
		 * idle would; then walk it closely. */
		for (uint32_t t = t0; t + 20000 < t0 + tmo; t += 20000)
			assert_int_equal(sg_ct_expire(ct, 0, t, NULL, NULL, 1000), 0);
		assert_int_equal(run_wheel(ct, t0 + tmo - 2000 > t0 ? t0 + tmo - 2000 : t0,
		                           t0 + tmo - 10), 0);
		assert_non_null(lookup(ct, 0, &k));
		assert_int_equal(run_wheel(ct, t0 + tmo, t0 + tmo + 200), 1);
		assert_null(lookup(ct, 0, &k));
		assert_int_equal(sg_ct_stats(ct, 0)->expired[s], 1);
		assert_int_equal(sg_ct_count(ct), 0);
		sg_ct_destroy(ct);
	}
}

static void test_touch_postpones_expiry(void **state)
{
	(void)state;
	struct sg_ct *ct = make_ct(64, 1);
	struct sg_flow k;

	key4(&k, 1, 0);
	struct sg_conn *c = insert_ok(ct, 0, &k, SG_CT_CLOSED, 0);   /* 45 s */
	run_wheel(ct, 0, 40000);
	sg_ct_touch(ct, c, 40000);                                   /* now 85 s */
	assert_int_equal(run_wheel(ct, 40010, 84990), 0);
	assert_non_null(lookup(ct, 0, &k));
	assert_true(sg_ct_stats(ct, 0)->c[SG_CT_STAT_REFILED] > 0);
	assert_int_equal(run_wheel(ct, 85000, 85200), 1);
	sg_ct_destroy(ct);
}

static void test_expiry_moved_earlier_by_another_worker_is_honoured_within_horizon(void **state)
{
	(void)state;
	struct sg_ct *ct = make_ct(64, 2);
	struct sg_flow k;

	sg_ct_offline(ct, 1);
	key4(&k, 1, 0);
	struct sg_conn *c = insert_ok(ct, 0, &k, SG_CT_ESTABLISHED, 0);
	run_wheel(ct, 0, 1000);
	/* RST seen: 45 s from 1 s.  Filed far ahead, it must still go by
	 * 46 s + the 8 s horizon. */
	assert_int_equal(sg_ct_set_state(ct, 1, c, SG_CT_CLOSED, 1000), 0);
	assert_int_equal(run_wheel(ct, 1010, 45990), 0);
	assert_int_equal(run_wheel(ct, 46000, 46000 + 8200), 1);
	sg_ct_destroy(ct);
}

static void test_owner_moving_expiry_earlier_is_exact(void **state)
{
	(void)state;
	struct sg_ct *ct = make_ct(64, 1);
	struct sg_flow k;

	key4(&k, 1, 0);
	struct sg_conn *c = insert_ok(ct, 0, &k, SG_CT_ESTABLISHED, 0);
	run_wheel(ct, 0, 1000);
	assert_int_equal(sg_ct_set_state(ct, 0, c, SG_CT_CLOSED, 1000), 0);
	assert_int_equal(run_wheel(ct, 1010, 45990), 0);
	assert_int_equal(run_wheel(ct, 46000, 46100), 1);
	sg_ct_destroy(ct);
}

struct retx {
	unsigned calls;
	uint32_t at[8];
};

static struct sg_ct *retx_ct;

static enum sg_ct_expire_action retx_cb(void *arg, struct sg_conn *c, uint32_t now)
{
	struct retx *r = arg;

	r->at[r->calls++] = now;
	/* A user's own bookkeeping lives in the payload. */
	if (c->payload[0] >= 4)
		return SG_CT_EXPIRE_FREE;
	c->payload[0]++;
	sg_ct_set_expiry(retx_ct, 0, c, now + (500u << c->payload[0]));
	return SG_CT_EXPIRE_KEEP;
}

static void test_expire_callback_drives_syn_retransmit_backoff(void **state)
{
	(void)state;
	struct sg_ct *ct = make_ct(64, 1);
	struct sg_flow k;
	struct retx r = { 0 };

	key4(&k, 9, 0);
	struct sg_conn *c = insert_ok(ct, 0, &k, SG_CT_SYN_SENT, 0);
	retx_ct = ct;
	sg_ct_set_expiry(ct, 0, c, 1000);
	for (uint32_t t = 0; t <= 20000; t += 10)
		sg_ct_expire(ct, 0, t, retx_cb, &r, 100);
	/* 1 s, then +1, +2, +4, +8 s: backoff 1, 2, 4, 8; the 5th call frees. */
	assert_int_equal(r.calls, 5);
	/* Each call comes its interval after the previous one, late by at
	 * most the wheel's 64 ms granularity plus the 10 ms polling step. */
	uint32_t gap[5] = { 1000, 1000, 2000, 4000, 8000 };
	for (unsigned i = 0; i < 5; i++) {
		uint32_t d = r.at[i] - (i ? r.at[i - 1] : 0);

		assert_true(d >= gap[i]);
		assert_true(d < gap[i] + 75);
	}
	assert_null(lookup(ct, 0, &k));
	sg_ct_destroy(ct);
}

static void test_expire_budget_bounds_work_and_resumes(void **state)
{
	(void)state;
	struct sg_ct *ct = make_ct(1024, 1);
	struct sg_flow k;

	for (uint32_t i = 0; i < 500; i++) {
		key4(&k, i, 0);
		insert_ok(ct, 0, &k, SG_CT_CLOSED, 0);
	}
	assert_int_equal(sg_ct_expire(ct, 0, 46000, NULL, NULL, 100), 100);
	assert_int_equal(sg_ct_count(ct), 400);
	unsigned rest = 0;
	for (int i = 0; i < 10; i++)
		rest += sg_ct_expire(ct, 0, 46000, NULL, NULL, 100);
	assert_int_equal(rest, 400);
	assert_int_equal(sg_ct_count(ct), 0);
	sg_ct_destroy(ct);
}

static void test_freed_entry_not_reused_before_every_worker_is_quiescent(void **state)
{
	(void)state;
	struct sg_ct *ct = make_ct(16, 2);    /* 8 entries per worker */
	struct sg_flow k;
	struct sg_conn *ex;
	int err;

	sg_ct_quiescent(ct, 1);
	for (uint32_t i = 0; i < 8; i++) {
		key4(&k, i, 0);
		insert_ok(ct, 0, &k, SG_CT_CLOSED, 0);
	}
	key4(&k, 0, 0);
	struct sg_conn *held = lookup(ct, 1, &k);   /* worker 1 reads it */
	assert_non_null(held);

	/* Worker 0 expires everything; the entries wait in limbo. */
	assert_int_equal(sg_ct_expire(ct, 0, 46000, NULL, NULL, 100), 8);
	sg_ct_quiescent(ct, 0);
	key4(&k, 100, 0);
	assert_null(insert(ct, 0, &k, SG_CT_SYN_SENT, 46000, &ex, &err));
	assert_int_equal(err, -ENOSPC);
	/* Worker 1 still sees a freed, unchanged entry; it cannot revive it. */
	assert_int_equal(sg_ct_state_get(held), SG_CT_FREE);
	assert_int_equal(sg_ct_set_state(ct, 1, held, SG_CT_ESTABLISHED, 46000), -ESTALE);
	assert_int_equal(held->key.wan_addr[3], 0);

	sg_ct_quiescent(ct, 1);                            /* worker 1 lets go */
	assert_non_null(insert(ct, 0, &k, SG_CT_SYN_SENT, 46000, &ex, &err));
	assert_true(sg_ct_stats(ct, 0)->c[SG_CT_STAT_RECLAIMED] >= 1);
	sg_ct_destroy(ct);
}

static void test_offline_worker_does_not_block_reuse(void **state)
{
	(void)state;
	struct sg_ct *ct = make_ct(16, 2);
	struct sg_flow k;

	sg_ct_offline(ct, 1);
	for (uint32_t i = 0; i < 8; i++) {
		key4(&k, i, 0);
		insert_ok(ct, 0, &k, SG_CT_CLOSED, 0);
	}
	sg_ct_expire(ct, 0, 46000, NULL, NULL, 100);
	sg_ct_quiescent(ct, 0);
	key4(&k, 50, 0);
	insert_ok(ct, 0, &k, SG_CT_SYN_SENT, 46000);
	sg_ct_destroy(ct);
}

/* A full slice with nothing closing or embryonic gives way to the open
 * entry idle longest, once it is idle past evict_idle_s; never to one
 * that saw a segment lately. */
static void test_full_slice_evicts_the_longest_idle_open_entry(void **state)
{
	(void)state;
	struct sg_ct_config cfg;
	struct sg_ct *ct = NULL;
	struct sg_conn *ex;
	struct sg_flow k;
	int err;

	sg_ct_config_default(&cfg);
	cfg.capacity = 16;
	cfg.evict_idle_s = 600;
	assert_int_equal(create(&cfg, 1, &ct), 0);
	for (uint32_t i = 0; i < 16; i++) {
		key4(&k, i, 0);
		insert_ok(ct, 0, &k, SG_CT_ESTABLISHED, i * 1000);   /* 0 is the oldest */
	}
	key4(&k, 0, 0);
	sg_ct_touch(ct, lookup(ct, 0, &k), 500000);              /* ... until now */
	/* Nobody idle 600 s yet: refused. */
	key4(&k, 100, 0);
	assert_null(insert(ct, 0, &k, SG_CT_SYN_SENT, 590000, &ex, &err));
	assert_int_equal(err, -ENOSPC);
	/* Later entry 1 is the one idle longest. */
	assert_non_null(insert(ct, 0, &k, SG_CT_SYN_SENT, 700000, &ex, &err));
	assert_int_equal(sg_ct_stats(ct, 0)->c[SG_CT_STAT_EVICT_IDLE], 1);
	key4(&k, 1, 0);
	assert_null(lookup(ct, 0, &k));
	key4(&k, 0, 0);
	assert_non_null(lookup(ct, 0, &k));
	sg_ct_destroy(ct);
	/* evict_idle_s = 0: open entries are never evicted. */
	cfg.evict_idle_s = 0;
	assert_int_equal(create(&cfg, 1, &ct), 0);
	for (uint32_t i = 0; i < 16; i++) {
		key4(&k, i, 0);
		insert_ok(ct, 0, &k, SG_CT_ESTABLISHED, 0);
	}
	key4(&k, 100, 0);
	assert_null(insert(ct, 0, &k, SG_CT_SYN_SENT, 80000000, &ex, &err));
	sg_ct_destroy(ct);
}

/* The user's release hook sees every entry its owner frees, by expiry
 * and by eviction, with the payload still intact. */
static unsigned released;
static void count_release(void *arg, const struct sg_conn *c, unsigned worker)
{
	(void)arg;
	assert_int_equal(worker, 0);
	assert_int_equal(c->payload[0], 0x5a);
	released++;
}

static void test_release_hook_sees_every_freed_entry(void **state)
{
	(void)state;
	struct sg_ct *ct = make_ct(16, 1);
	uint8_t payload[SG_CT_PAYLOAD_BYTES] = { 0x5a };
	struct sg_conn *ex;
	struct sg_flow k;
	int err;

	released = 0;
	sg_ct_set_release(ct, count_release, NULL);
	for (uint32_t i = 0; i < 17; i++) {            /* the 17th evicts one */
		key4(&k, i, 0);
		assert_non_null(sg_ct_insert(ct, 0, &k, sg_ct_hash(ct, &k), SG_CT_CLOSED, payload, 0,
		                             &ex, &err));
	}
	assert_int_equal(released, 1);
	run_wheel(ct, 0, 50000);                       /* CLOSED times out after 45 s */
	assert_int_equal(released, 17);
	sg_ct_destroy(ct);
}

static void test_config_check_names_the_bad_field(void **state)
{
	(void)state;
	struct sg_ct_config c;
	struct sg_cfg_fault why;
	struct sg_ct *ct = NULL;

	sg_ct_config_default(&c);
	assert_int_equal(sg_ct_config_check(&c, 2, &why), 0);
	c.capacity = 3;
	assert_int_equal(sg_ct_config_check(&c, 1, &why), -1);
	assert_int_equal(why.rule, SG_CFG_RANGE);
	assert_int_equal(why.off, offsetof(struct sg_ct_config, capacity));
	assert_int_equal(create(&c, 1, &ct), -EINVAL);
	c.capacity = 64;
	assert_int_equal(sg_ct_config_check(&c, 16, &why), -1);
	assert_int_equal(why.rule, SG_CFG_PER_WORKER);
	assert_int_equal(why.off, offsetof(struct sg_ct_config, capacity));
	sg_ct_config_default(&c);
	c.timeout_s[SG_CT_TIME_WAIT] = 0;
	assert_int_equal(sg_ct_config_check(&c, 1, &why), -1);
	assert_int_equal(why.off, offsetof(struct sg_ct_config, timeout_s[SG_CT_TIME_WAIT]));
	sg_ct_config_default(&c);
	assert_int_equal(sg_ct_config_check(&c, 0, &why), -1);
	assert_int_equal(why.off, SG_CFG_WORKERS);
	assert_int_equal(sg_ct_config_check(&c, SG_MAX_WORKERS + 1, &why), -1);
	assert_int_equal(why.off, SG_CFG_WORKERS);
}

/* The longest chain when n keys made by mk(i) fill 65 536 buckets (the
 * top 16 bits of the hash, as the table uses them). */
static unsigned longest_chain(const struct sg_ct *ct, unsigned n,
                              void (*mk)(struct sg_flow *, unsigned))
{
	static uint16_t load[1u << 16];
	unsigned longest = 0;

	memset(load, 0, sizeof(load));
	for (unsigned i = 0; i < n; i++) {
		struct sg_flow k;
		uint32_t b;

		mk(&k, i);
		b = sg_ct_hash(ct, &k) >> 16;
		if (++load[b] > longest)
			longest = load[b];
	}
	return longest;
}

static void by_wan_port(struct sg_flow *k, unsigned i)
{
	uint8_t wan[4] = { 198, 51, 100, 7 }, lan[4] = { 192, 0, 2, 10 };

	sg_flow_make(k, 4, wan, (uint16_t)i, lan, 443, 0, 0);
}

static void by_wan_addr4(struct sg_flow *k, unsigned i)
{
	uint8_t wan[4] = { 10, 0, (uint8_t)(i >> 8), (uint8_t)i }, lan[4] = { 192, 0, 2, 10 };

	sg_flow_make(k, 4, wan, 40000, lan, 443, 0, 0);
}

static void by_wan_addr6(struct sg_flow *k, unsigned i)
{
	uint8_t wan[16] = { 0x20, 0x01, 0x0d, 0xb8 }, lan[16] = { 0x20, 0x01, 0x0d, 0xb8, 2 };

	wan[14] = (uint8_t)(i >> 8);
	wan[15] = (uint8_t)i;
	sg_flow_make(k, 6, wan, 40000, lan, 443, 0, 0);
}

static void by_vid(struct sg_flow *k, unsigned i)
{
	uint8_t wan[4] = { 198, 51, 100, 7 }, lan[4] = { 192, 0, 2, 10 };

	sg_flow_make(k, 4, wan, 40000, lan, 443, (uint16_t)i, 0);
}

/* One source varying one field must not pile its flows into one chain:
 * 65 536 keys thrown at 65 536 buckets at random make a longest chain of
 * 7 to 10; a hash that ignored the field would make one of 65 536. */
static void test_hash_spreads_flows_that_differ_in_one_field(void **state)
{
	(void)state;
	struct sg_ct *ct = make_ct(1024, 1), *other = NULL;
	struct sg_ct_config cfg;
	uint8_t other_key[SG_CT_HASH_KEY_BYTES];
	struct sg_flow k;
	unsigned differ = 0;

	sg_ct_config_default(&cfg);
	cfg.capacity = 1024;
	for (unsigned i = 0; i < sizeof(other_key); i++)
		other_key[i] = (uint8_t)(hash_key[i] ^ (i * 29 + 1));
	assert_int_equal(sg_ct_create(&cfg, 1, other_key, &other), 0);

	assert_in_range(longest_chain(ct, 1u << 16, by_wan_port), 1, 16);
	assert_in_range(longest_chain(ct, 1u << 16, by_wan_addr4), 1, 16);
	assert_in_range(longest_chain(ct, 1u << 16, by_wan_addr6), 1, 16);
	assert_in_range(longest_chain(ct, 4096, by_vid), 1, 6);
	/* The hash depends on its key: a table keyed otherwise spreads differently. */
	for (unsigned i = 0; i < 16; i++) {
		by_wan_port(&k, i);
		differ += sg_ct_hash(ct, &k) != sg_ct_hash(other, &k);
	}
	assert_true(differ > 0);
	sg_ct_destroy(ct);
	sg_ct_destroy(other);
}

static void test_entry_fits_two_cache_lines(void **state)
{
	(void)state;
	assert_true(sizeof(struct sg_conn) <= 128);
	assert_int_equal(sizeof(struct sg_conn) % 64, 0);
	assert_int_equal(offsetof(struct sg_conn, payload), 64);
	assert_int_equal(sizeof(((struct sg_conn *)0)->payload), SG_CT_PAYLOAD_BYTES);
}

/* ---- concurrency ---- */

#define STRESS_THREADS 3
#define STRESS_KEYS    2048
#define STRESS_OPS     200000

struct stress {
	struct sg_ct *ct;
	unsigned id;
	uint64_t inserted, wrong_key;
};

static void *stress_worker(void *arg)
{
	struct stress *s = arg;
	uint32_t rnd = 0x9e3779b9u * (s->id + 1), now = 0;

	for (unsigned op = 0; op < STRESS_OPS; op++) {
		struct sg_flow k;
		struct sg_conn *c, *ex;
		int err;

		rnd = rnd * 1664525u + 1013904223u;
		key4(&k, (rnd >> 8) % STRESS_KEYS, (uint16_t)(rnd & 1));
		switch (rnd >> 29) {
		case 0: case 1: case 2:
			c = insert(s->ct, s->id, &k, SG_CT_CLOSED, now, &ex, &err);
			if (c)
				s->inserted++;
			break;
		case 3:
			c = lookup(s->ct, s->id, &k);
			if (c)
				sg_ct_set_state(s->ct, s->id, c, SG_CT_CLOSED, now);
			break;
		default:
			c = lookup(s->ct, s->id, &k);
			if (c && memcmp(&c->key, &k, sizeof(k)) != 0 &&
			    sg_ct_state_get(c) != SG_CT_FREE)
				s->wrong_key++;
			break;
		}
		if ((op & 63) == 0) {
			now += 700;
			sg_ct_expire(s->ct, s->id, now, NULL, NULL, 256);
			sg_ct_quiescent(s->ct, s->id);
		}
	}
	sg_ct_offline(s->ct, s->id);
	return NULL;
}

static void test_concurrent_workers_keep_the_table_consistent(void **state)
{
	(void)state;
	struct sg_ct *ct = make_ct(STRESS_THREADS * 512, STRESS_THREADS);
	pthread_t th[STRESS_THREADS];
	struct stress s[STRESS_THREADS];
	uint64_t inserted = 0, expired = 0;

	for (unsigned i = 0; i < STRESS_THREADS; i++) {
		s[i] = (struct stress){ .ct = ct, .id = i };
		assert_int_equal(pthread_create(&th[i], NULL, stress_worker, &s[i]), 0);
	}
	for (unsigned i = 0; i < STRESS_THREADS; i++)
		pthread_join(th[i], NULL);
	for (unsigned i = 0; i < STRESS_THREADS; i++) {
		const struct sg_ct_stats *st = sg_ct_stats(ct, i);

		assert_int_equal(s[i].wrong_key, 0);
		inserted += s[i].inserted;
		assert_int_equal(st->c[SG_CT_STAT_INSERTS], s[i].inserted);
		for (unsigned k = 0; k < SG_CT_STATE_COUNT; k++)
			expired += st->expired[k];
		expired += st->c[SG_CT_STAT_EVICT_CLOSING] + st->c[SG_CT_STAT_EVICT_EMBRYONIC];
	}
	assert_true(inserted > 0);
	assert_int_equal(sg_ct_count(ct), inserted - expired);
	/* Every key still linked is found exactly where it should be. */
	unsigned found = 0;
	for (uint32_t n = 0; n < STRESS_KEYS; n++)
		for (uint16_t v = 0; v < 2; v++) {
			struct sg_flow k;
			struct sg_conn *c;

			key4(&k, n, v);
			c = lookup(ct, 0, &k);
			if (c) {
				assert_memory_equal(&c->key, &k, sizeof(k));
				found++;
			}
		}
	assert_int_equal(found, sg_ct_count(ct));
	sg_ct_destroy(ct);
}

static void count_walked(void *arg, const struct sg_conn *c)
{
	unsigned *seen = arg;
	uint32_t n = (uint32_t)c->key.wan_addr[2] << 8 | c->key.wan_addr[3];

	assert_true(n < 300);
	seen[n]++;
}

/* A restart waits for sg_ct_create: writing the 128 MiB pool of the
 * default capacity took most of a second on a loaded machine.  It must
 * touch none of it, and still hand each worker's slice out in index
 * order. */
static void test_create_touches_no_entry_and_fills_in_index_order(void **state)
{
	const uint32_t cap = 1u << 20;     /* 128 MiB of entries */
	size_t before = resident_bytes();
	struct sg_ct *ct = make_ct(cap, 2);
	struct sg_conn *first[2], *c;
	struct sg_flow k;

	(void)state;
	assert_true(resident_bytes() - before < 16u << 20);
	for (uint32_t n = 0; n < 200; n++) {
		key4(&k, n, 0);
		c = insert_ok(ct, n & 1, &k, SG_CT_ESTABLISHED, 0);
		if (n < 2)
			first[n] = c;
		else
			assert_ptr_equal(c, first[n & 1] + n / 2);
	}
	/* Worker 1's slice begins where worker 0's ends. */
	assert_ptr_equal(first[1], first[0] + cap / 2);
	assert_true(resident_bytes() - before < 16u << 20);
	sg_ct_destroy(ct);
}

/* The walk a dump makes visits every live entry once, whatever its
 * worker, state or time left, and no freed one. */
static void test_walk_visits_each_live_entry_once(void **state)
{
	struct sg_ct *ct = make_ct(1024, 2);
	unsigned seen[300] = { 0 }, total = 0;
	struct sg_conn *c, *old;
	struct sg_flow k;
	int err;

	(void)state;
	for (uint32_t n = 0; n < 300; n++) {
		key4(&k, n, 0);
		c = insert(ct, n & 1, &k, n % 3 ? SG_CT_ESTABLISHED : SG_CT_SYN_SENT, 1000, &old, &err);
		assert_non_null(c);
		if (n % 3 == 0)
			sg_ct_set_expiry(ct, n & 1, c, 2000);             /* these go */
		else if (n % 5 == 0)
			sg_ct_set_expiry(ct, n & 1, c, 1000 + 500 * n);   /* far: checkpoints */
	}
	for (uint32_t t = 1000; t < 4000; t += 64)
		for (unsigned w = 0; w < 2; w++)
			sg_ct_expire(ct, w, t, NULL, NULL, 1000);
	sg_ct_walk(ct, count_walked, seen);
	for (uint32_t n = 0; n < 300; n++) {
		key4(&k, n, 0);
		assert_int_equal(seen[n], lookup(ct, 0, &k) ? 1 : 0);
		total += seen[n];
	}
	assert_true(total > 0 && total < 300);
	assert_int_equal(total, sg_ct_count(ct));
	sg_ct_destroy(ct);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_touches_no_entry_and_fills_in_index_order),
		cmocka_unit_test(test_walk_visits_each_live_entry_once),
		cmocka_unit_test(test_insert_then_lookup_finds_the_same_entry_v4_v6),
		cmocka_unit_test(test_count_states_counts_each_entry_once_by_its_state),
		cmocka_unit_test(test_other_vlan_ports_or_family_is_another_flow),
		cmocka_unit_test(test_flow_make_puts_ipv4_addresses_in_the_first_bytes),
		cmocka_unit_test(test_duplicate_insert_returns_existing),
		cmocka_unit_test(test_full_table_of_established_refuses_and_never_grows),
		cmocka_unit_test(test_full_table_evicts_closing_before_embryonic),
		cmocka_unit_test(test_each_state_times_out_at_its_timeout_not_before),
		cmocka_unit_test(test_touch_postpones_expiry),
		cmocka_unit_test(test_expiry_moved_earlier_by_another_worker_is_honoured_within_horizon),
		cmocka_unit_test(test_owner_moving_expiry_earlier_is_exact),
		cmocka_unit_test(test_expire_callback_drives_syn_retransmit_backoff),
		cmocka_unit_test(test_expire_budget_bounds_work_and_resumes),
		cmocka_unit_test(test_freed_entry_not_reused_before_every_worker_is_quiescent),
		cmocka_unit_test(test_offline_worker_does_not_block_reuse),
		cmocka_unit_test(test_full_slice_evicts_the_longest_idle_open_entry),
		cmocka_unit_test(test_release_hook_sees_every_freed_entry),
		cmocka_unit_test(test_config_check_names_the_bad_field),
		cmocka_unit_test(test_hash_spreads_flows_that_differ_in_one_field),
		cmocka_unit_test(test_entry_fits_two_cache_lines),
		cmocka_unit_test(test_concurrent_workers_keep_the_table_consistent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
