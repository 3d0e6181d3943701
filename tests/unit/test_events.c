/* The daemon's log events from two samples (daemon/events.h): each event,
 * its threshold, hysteresis and rate limit, without a daemon. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <cmocka.h>

#include "daemon/events.h"

#define S 1000000000ull

struct lines {
	unsigned n;
	int level[64];
	char text[64][512];
};

static void collect(void *ctx, int level, const char *line)
{
	struct lines *l = ctx;

	assert_true(l->n < 64);
	l->level[l->n] = level;
	snprintf(l->text[l->n], sizeof(l->text[0]), "%s", line);
	l->n++;
}

/* The counters events read, at second t. */
struct counts {
	uint64_t syn, synack, insert_full, evict_idle, drop_policy, drop_table_full, rx_tcp;
};

static void snap(struct sg_snapshot *s, unsigned t, const struct counts *c)
{
	memset(s, 0, sizeof(*s));
	s->at_ns = 1000 * S + t * S;
	sg_snapshot_add(s, "rx_tcp", c->rx_tcp);
	sg_snapshot_add(s, "syn_received", c->syn);
	sg_snapshot_add(s, "synack_sent", c->synack);
	sg_snapshot_add(s, "drop_table_full", c->drop_table_full);
	sg_snapshot_add(s, "drop_policy", c->drop_policy);
	sg_snapshot_add(s, "conntrack_entries", 100);
	sg_snapshot_add(s, "conntrack_capacity", 100);
	sg_snapshot_add(s, "conntrack_insert_full", c->insert_full);
	sg_snapshot_add(s, "conntrack_evict_idle", c->evict_idle);
}

/* A run of samples a second apart; each step's lines are appended. */
struct run {
	struct sg_events e;
	struct sg_snapshot s[2];
	unsigned cur, t;
	struct counts c;
	struct sg_events_sample sample;
	struct lines out;
};

static void run_init(struct run *r, unsigned flood_rate)
{
	static const char *const names[SG_IO_PORTS] = { "lan0", "wan0" };

	memset(r, 0, sizeof(*r));
	sg_events_init(&r->e, names);
	r->sample.flood_syn_rate = flood_rate;
	r->sample.link[0] = r->sample.link[1] = SG_LINK_UP;
	snap(&r->s[0], 0, &r->c);
	r->sample.snap = &r->s[0];
	sg_events_step(&r->e, NULL, &r->sample, collect, &r->out);
}

/* One second later, with syn SYNs (half of them answered) and the rest of
 * r->c as the caller moved it. */
static unsigned run_second(struct run *r, uint64_t syn)
{
	unsigned before = r->out.n;

	r->c.syn += syn;
	r->c.synack += syn / 2;
	r->cur ^= 1;
	snap(&r->s[r->cur], ++r->t, &r->c);
	r->sample.snap = &r->s[r->cur];
	sg_events_step(&r->e, &r->s[r->cur ^ 1], &r->sample, collect, &r->out);
	return r->out.n - before;
}

static void test_flood_starts_at_the_threshold_and_ends_after_quiet_seconds(void **state)
{
	(void)state;
	static struct run r;

	run_init(&r, 1000);
	assert_int_equal(run_second(&r, 500), 0);
	assert_int_equal(run_second(&r, 999), 0);
	assert_int_equal(run_second(&r, 1000), 1);
	assert_int_equal(r.out.level[0], LOG_WARNING);
	assert_string_equal(r.out.text[0], "SYN flood: started, 1000 SYN/s, 500 cookies/s "
	                                   "(log.flood_syn_rate 1000)");
	assert_int_equal(run_second(&r, 4000), 0);
	/* Under the threshold, over half of it: still the flood. */
	for (int i = 0; i < 10; i++)
		assert_int_equal(run_second(&r, 600), 0);
	for (int i = 0; i < SG_EVENTS_FLOOD_QUIET_S - 1; i++)
		assert_int_equal(run_second(&r, 100), 0);
	assert_int_equal(run_second(&r, 100), 1);
	assert_int_equal(r.out.level[1], LOG_NOTICE);
	/* From the start of its first second (t 2) to the end of the last
	 * busy one (t 14); answered: every SYN-ACK since it began, the quiet
	 * seconds' included (500 + 2000 + 10 * 300 + 5 * 50). */
	assert_string_equal(r.out.text[1], "SYN flood: ended after 12 s, peak 4000 SYN/s, "
	                                   "5750 SYNs answered");
	/* Over again: a new flood. */
	assert_int_equal(run_second(&r, 2000), 1);
	assert_non_null(strstr(r.out.text[2], "SYN flood: started, 2000 SYN/s"));
}

static void test_flood_hovering_at_the_threshold_is_one_flood(void **state)
{
	(void)state;
	static struct run r;

	run_init(&r, 1000);
	for (int i = 0; i < 20; i++)
		run_second(&r, i % 2 ? 900 : 1100);
	assert_int_equal(r.out.n, 1);
	assert_non_null(strstr(r.out.text[0], "SYN flood: started, 1100 SYN/s"));
}

static void test_flood_threshold_follows_a_reload(void **state)
{
	(void)state;
	static struct run r;

	run_init(&r, 10000);
	assert_int_equal(run_second(&r, 5000), 0);
	r.sample.flood_syn_rate = 4000;
	assert_int_equal(run_second(&r, 5000), 1);
	assert_non_null(strstr(r.out.text[0], "(log.flood_syn_rate 4000)"));
}

static void test_table_full_at_once_then_every_10_s_with_the_count(void **state)
{
	(void)state;
	static struct run r;

	run_init(&r, 1000000);
	assert_int_equal(run_second(&r, 0), 0);
	r.c.insert_full += 7;
	r.c.evict_idle += 1;
	assert_int_equal(run_second(&r, 0), 1);
	assert_int_equal(r.out.level[0], LOG_WARNING);
	assert_string_equal(r.out.text[0], "connection table full: 7 new connections refused, "
	                                   "1 evicted in the last 1 s (100 of 100 entries); "
	                                   "raise conntrack.capacity");
	for (int i = 0; i < 9; i++) {
		r.c.insert_full += 2;
		assert_int_equal(run_second(&r, 0), 0);
	}
	r.c.insert_full += 1;
	assert_int_equal(run_second(&r, 0), 1);
	assert_string_equal(r.out.text[1], "connection table full: 19 new connections refused, "
	                                   "0 evicted in the last 10 s (100 of 100 entries); "
	                                   "raise conntrack.capacity");
	/* Quiet for a while, then full again: said at once. */
	for (int i = 0; i < 12; i++)
		assert_int_equal(run_second(&r, 0), 0);
	r.c.insert_full += 1;
	assert_int_equal(run_second(&r, 0), 1);
	assert_non_null(strstr(r.out.text[2], ": 1 new connection refused, 0 evicted in the last 1 s"));
}

static void test_link_changes_are_said_once(void **state)
{
	(void)state;
	static struct run r;

	run_init(&r, 1000000);
	assert_int_equal(r.out.n, 0);    /* up at start: nothing to say */
	r.sample.link[1] = SG_LINK_DOWN;
	strcpy(r.sample.operstate[1], "lowerlayerdown");
	assert_int_equal(run_second(&r, 0), 1);
	assert_int_equal(r.out.level[0], LOG_WARNING);
	assert_string_equal(r.out.text[0], "wan port wan0: link down (operstate lowerlayerdown): "
	                                   "nothing passes on this port");
	assert_int_equal(run_second(&r, 0), 0);
	r.sample.link[1] = SG_LINK_UNKNOWN;     /* sysfs unreadable: no change */
	assert_int_equal(run_second(&r, 0), 0);
	r.sample.link[1] = SG_LINK_UP;
	assert_int_equal(run_second(&r, 0), 1);
	assert_int_equal(r.out.level[1], LOG_NOTICE);
	assert_string_equal(r.out.text[1], "wan port wan0: link up");
}

static void test_a_port_down_at_start_is_said(void **state)
{
	(void)state;
	static const char *const names[SG_IO_PORTS] = { "lan0", "wan0" };
	struct sg_events_sample s = { .link = { SG_LINK_DOWN, SG_LINK_UP }, .operstate = { "down" } };
	static struct sg_snapshot snap0;
	static struct sg_events e;
	static struct lines out;

	s.snap = &snap0;
	sg_events_init(&e, names);
	sg_events_step(&e, NULL, &s, collect, &out);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.text[0], "lan port lan0: link down at start (operstate down): "
	                                 "nothing passes on this port");
}

static void test_key_rotation_is_said_when_the_epoch_changes(void **state)
{
	(void)state;
	static struct run r;

	run_init(&r, 1000000);
	r.sample.has_cookie = true;
	r.sample.cookie_period_s = 32;
	r.sample.cookie_epoch = 5;
	assert_int_equal(run_second(&r, 0), 0);    /* the first epoch seen */
	assert_int_equal(run_second(&r, 0), 0);
	r.sample.cookie_epoch = 6;
	assert_int_equal(run_second(&r, 0), 1);
	assert_int_equal(r.out.level[0], LOG_INFO);
	assert_string_equal(r.out.text[0], "cookie key rotated: epoch 6; cookies of the key before "
	                                   "are still accepted for up to 32 s");
	assert_int_equal(run_second(&r, 0), 0);
}

static void test_drop_samples_one_per_reason_per_10_s(void **state)
{
	(void)state;
	static struct run r;

	run_init(&r, 1000000);
	r.c.drop_policy += 3;
	r.c.rx_tcp += 50;                /* not a drop: never sampled */
	assert_int_equal(run_second(&r, 0), 1);
	assert_int_equal(r.out.level[0], LOG_DEBUG);
	assert_string_equal(r.out.text[0], "drops: drop_policy: 3 in the last 1 s");
	for (int i = 0; i < 5; i++) {
		r.c.drop_policy += 2;
		r.c.rx_tcp += 50;
		assert_int_equal(run_second(&r, 0), 0);
	}
	/* Another reason has a limit of its own. */
	r.c.drop_table_full += 4;
	assert_int_equal(run_second(&r, 0), 1);
	assert_string_equal(r.out.text[1], "drops: drop_table_full: 4 in the last 7 s");
	for (int i = 0; i < 3; i++)
		assert_int_equal(run_second(&r, 0), 0);
	r.c.drop_policy += 1;
	assert_int_equal(run_second(&r, 0), 1);     /* 10 s after the first line */
	assert_string_equal(r.out.text[2], "drops: drop_policy: 11 in the last 10 s");
}

static void test_start_and_stop_lines(void **state)
{
	(void)state;
	static struct sg_snapshot last;
	struct lines out = { 0 };
	struct sg_events_start st = {
		.version = "1.2.3", .ifname = { "lan0", "wan0" }, .io = "afxdp", .workers = 2,
		.table_capacity = 65536,
	};

	sg_events_started(&st, collect, &out);
	assert_int_equal(out.level[0], LOG_NOTICE);
	assert_string_equal(out.text[0], "running: 2 workers, proxying, synguard 1.2.3, lan lan0, "
	                                 "wan wan0, io afxdp, table of 65536 connections");
	st.bridge_only = true;
	st.workers = 1;
	sg_events_started(&st, collect, &out);
	assert_string_equal(out.text[1], "running: 1 worker, bridge only, synguard 1.2.3, "
	                                 "lan lan0, wan wan0, io afxdp");
	sg_snapshot_add(&last, "rx_lan_frames", 10);
	sg_snapshot_add(&last, "rx_wan_frames", 32);
	sg_events_stopped("SIGTERM", 3725 * S, &last, collect, &out);
	assert_string_equal(out.text[2], "stopped (SIGTERM) after 1 h 2 min: 42 frames received");
	sg_snapshot_add(&last, "synack_sent", 7);
	sg_snapshot_add(&last, "proxied_established", 1);
	sg_snapshot_add(&last, "dropped", 0);
	sg_events_stopped("SIGINT", 61 * S, &last, collect, &out);
	assert_string_equal(out.text[3], "stopped (SIGINT) after 1 min 1 s: 42 frames received, "
	                                 "7 SYNs answered, 1 connection proxied, 0 frames dropped");
}

static void test_operstate_of_loopback_reads_as_up(void **state)
{
	(void)state;
	char word[16];

	/* lo reports "unknown" (no carrier notion): not a link down. */
	assert_int_equal(sg_events_read_link("lo", word, sizeof(word)), SG_LINK_UP);
	assert_string_equal(word, "unknown");
	assert_int_equal(sg_events_read_link("no-such-if0", word, sizeof(word)), SG_LINK_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flood_starts_at_the_threshold_and_ends_after_quiet_seconds),
		cmocka_unit_test(test_flood_hovering_at_the_threshold_is_one_flood),
		cmocka_unit_test(test_flood_threshold_follows_a_reload),
		cmocka_unit_test(test_table_full_at_once_then_every_10_s_with_the_count),
		cmocka_unit_test(test_link_changes_are_said_once),
		cmocka_unit_test(test_a_port_down_at_start_is_said),
		cmocka_unit_test(test_key_rotation_is_said_when_the_epoch_changes),
		cmocka_unit_test(test_drop_samples_one_per_reason_per_10_s),
		cmocka_unit_test(test_start_and_stop_lines),
		cmocka_unit_test(test_operstate_of_loopback_reads_as_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
