/* The connection table handed to a successor (core/ct_dump.h): a proxy
 * created from the same seed continues every connection of the dump, its
 * timers go on, its predecessor's cookies still open connections, and a
 * dump it cannot read exactly is refused by name. */
#include "proxy_harness.h"

#include <errno.h>

#include "core/ct_dump.h"

static const uint8_t other_seed[SG_PROXY_SEED_BYTES] = { 9, 9, 9 };

/* A dump of h's proxy at h's clock, in a buffer of its own. */
static uint8_t *dump_of(struct h *h, size_t *len)
{
	struct sg_ct_dump_info info;
	size_t cap = sg_ct_dump_size(h->p);
	uint8_t *buf = aligned_alloc(64, (cap + 63) & ~(size_t)63);

	assert_non_null(buf);
	memset(&info, 0, sizeof(info));
	memcpy(info.seed, h_seed, sizeof(info.seed));
	info.tag[0] = 't';
	info.now_ns = h->now;
	assert_int_equal(sg_ct_dump(h->p, &info, buf, cap, len), 0);
	assert_int_equal(info.count, sg_ct_count(sg_proxy_table(h->p)));
	return buf;
}

/* h continues on a new proxy created from `seed` with the dump loaded
 * `later_ns` after it was taken; the old proxy is destroyed. */
static void successor(struct h *h, const uint8_t *seed, const uint8_t *buf, size_t len,
                      uint64_t later_ns, struct sg_ct_load_result *res)
{
	struct sg_proxy_config cfg;
	struct sg_ct_dump_why why;
	struct sg_proxy *next;

	sg_proxy_config_default(&cfg);
	cfg.ct.capacity = 1024;
	cfg.halfopen.max_syn_rate = 0;
	cfg.seed = seed;
	assert_int_equal(sg_proxy_create(&cfg, 1, &next), 0);
	h->now += later_ns;
	if (buf)
		assert_int_equal(sg_ct_dump_load(next, buf, len, h->now, res, &why), 0);
	sg_proxy_destroy(h->p);
	h->p = next;
	h->w = sg_proxy_worker(next, 0);
}

struct snap {
	unsigned n;
	struct { struct sg_flow key; uint8_t state; uint32_t expires; uint8_t payload[64]; } e[16];
};

static void snap_one(void *arg, const struct sg_conn *c)
{
	struct snap *s = arg;

	assert_true(s->n < 16);
	s->e[s->n].key = c->key;
	s->e[s->n].state = c->state;
	s->e[s->n].expires = c->expires_ms;
	memcpy(s->e[s->n].payload, c->payload, 64);
	s->n++;
}

/* A LAN host's connection, tracked (uplink), left established. */
static void tracked_open(struct h *h)
{
	struct sg_tcp_opts o = h_syn_opts(&(struct h_opts){ 1460, 7, 1, 1 }, 1, 0);
	uint16_t cport = h->cport;

	h->cport = 40999;
	h_build(h, 0, SG_TCP_SYN, 500, 0, 64240, &o, 0);
	assert_int_equal(h_send(h, SG_PORT_LAN), SG_VERDICT_FORWARD);
	h_build(h, 1, SG_TCP_SYN | SG_TCP_ACK, 9000, 501, 64240, &o, 0);
	assert_int_equal(h_send(h, SG_PORT_WAN), SG_VERDICT_FORWARD);
	h_build(h, 0, SG_TCP_ACK, 501, 9001, 500, NULL, 100);
	assert_int_equal(h_send(h, SG_PORT_LAN), SG_VERDICT_FORWARD);
	h->cport = cport;
}

static void test_successor_continues_every_connection(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct sg_ct_load_result res;
		struct snap before = { 0 };
		struct sg_pkt p;
		struct h h;
		uint8_t *buf;
		size_t len;

		h_init(&h, fl, NULL);
		h_proxied_open(&h);
		h_c2s_data(&h, 100);
		h_s2c_data(&h, 300);
		tracked_open(&h);
		sg_ct_walk(sg_proxy_table(h.p), snap_one, &before);
		assert_int_equal(before.n, 2);
		buf = dump_of(&h, &len);

		/* Half a second of downtime, as a restart takes. */
		successor(&h, h_seed, buf, len, H_SEC / 2, &res);
		assert_int_equal(res.loaded, 2);
		assert_int_equal(res.refused, 0);
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 2);
		for (unsigned i = 0; i < before.n; i++) {
			struct sg_ct *ct = sg_proxy_table(h.p);
			struct sg_conn *c = sg_ct_lookup(ct, 0, &before.e[i].key,
			                                 sg_ct_hash(ct, &before.e[i].key));

			assert_non_null(c);
			assert_int_equal(c->state, before.e[i].state);
			assert_memory_equal(c->payload, before.e[i].payload, 64);
			/* The same clock: the expiry is where it was. */
			assert_int_equal(c->expires_ms, before.e[i].expires);
		}
		/* Translated both ways as before the restart. */
		h_c2s_data(&h, 200);
		h_s2c_data(&h, 400);
		h_c2s_data(&h, 1);
		assert_int_equal(h_stat(&h, SG_STAT_DROP_UNKNOWN), 0);
		/* The tracked one passes too, in both directions. */
		h.cport = 40999;
		h_build(&h, 1, SG_TCP_ACK, 9001, 601, 500, NULL, 10);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		h_fwd(&h, &p);
		assert_int_equal(p.seq, 9001);
		assert_int_equal(h_stat(&h, SG_STAT_DROP_UNKNOWN), 0);
		free(buf);
		h_fini(&h);
	}
}

/* Without the dump the successor drops the same segment: what the test
 * above proves is the handover's doing. */
static void test_successor_without_dump_drops_the_connection(void **state)
{
	struct h h;

	(void)state;
	h_init(&h, H_V4, NULL);
	h_proxied_open(&h);
	h_s2c_data(&h, 300);
	successor(&h, h_seed, NULL, 0, H_SEC / 2, NULL);
	h_client_ack(&h, h.c_nxt, h.cookie + 1 + 300, 10);
	assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
	assert_int_equal(h_stat(&h, SG_STAT_DROP_UNKNOWN), 1);
	h_fini(&h);
}

/* A connection waiting for the server keeps its SYN retransmit timer. */
static void test_timers_continue_after_load(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct sg_ct_load_result res;
		struct sg_pkt p;
		struct h h;
		uint8_t *buf;
		size_t len;

		h_init(&h, fl, NULL);
		h_client_syn(&h);
		h_client_ack_cookie(&h);
		buf = dump_of(&h, &len);
		successor(&h, h_seed, buf, len, 300 * 1000 * 1000ull, &res);
		assert_int_equal(res.loaded, 1);
		/* Due 1 s after the SYN: not in the next 0.6 s, then once. */
		assert_int_equal(h_advance(&h, 600 * 1000 * 1000ull, SG_PORT_LAN), 0);
		for (unsigned i = 0; i < 20 && !h.out.n; i++) {
			h.now += 10 * 1000 * 1000ull;
			h_tick(&h);
		}
		assert_int_equal(h.out.n, 1);
		assert_int_equal(h_stat(&h, SG_STAT_SYN_RETRANSMIT), 1);
		h_out(&h, 0, SG_PORT_LAN, &p);
		assert_int_equal(p.tcp_flags, SG_TCP_SYN);
		assert_int_equal(p.seq, h.c_isn);
		/* And the server's answer establishes it. */
		h_server_synack(&h);
		h_c2s_data(&h, 50);
		free(buf);
		h_fini(&h);
	}
}

/* A cookie handed out before the restart opens the connection after it,
 * given the seed the dump carries; with another seed it does not. */
static void test_cookie_survives_with_the_seed(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;
		uint8_t *buf;
		size_t len;
		struct sg_ct_dump_info info;
		struct sg_ct_dump_why why;
		struct sg_ct_load_result res;

		h_init(&h, fl, NULL);
		h_client_syn(&h);          /* stateless: the table stays empty */
		buf = dump_of(&h, &len);
		assert_int_equal(sg_ct_dump_check(buf, len, &info, &why), 0);
		assert_memory_equal(info.seed, h_seed, sizeof(h_seed));
		assert_int_equal(info.count, 0);
		assert_int_equal(info.tag[0], 't');
		successor(&h, info.seed, buf, len, 2 * H_SEC, &res);
		h_client_ack_cookie(&h);   /* asserts the SYN to the server */
		h_server_synack(&h);
		h_c2s_data(&h, 10);
		h_fini(&h);

		h_init(&h, fl, NULL);
		h_client_syn(&h);
		successor(&h, other_seed, NULL, 0, 2 * H_SEC, NULL);
		h_client_ack(&h, h.c_isn + 1, h.cookie + 1, 0);
		assert_int_not_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_CONSUME);
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 0);
		free(buf);
		h_fini(&h);
	}
}

/* ---- refusals ---- */

/* Offsets of the header's fixed fields (ct_dump.c asserts they never move). */
#define OFF_VERSION 8
#define OFF_HEAD    12
#define OFF_REC     16
#define OFF_PAYLOAD 20
#define OFF_LAYOUT  24
#define OFF_COUNT   32

static uint8_t *one_entry_dump(size_t *len)
{
	struct h h;
	uint8_t *buf;

	h_init(&h, H_V4, NULL);
	h_proxied_open(&h);
	buf = dump_of(&h, len);
	h_fini(&h);
	return buf;
}

static void expect_fault(const uint8_t *buf, size_t len, enum sg_ct_dump_fault f, uint64_t found,
                         uint64_t expected)
{
	struct sg_ct_dump_why why;
	struct sg_ct_load_result res;
	struct sg_proxy_config cfg;
	struct sg_proxy *p;

	assert_int_equal(sg_ct_dump_check(buf, len, NULL, &why), -EINVAL);
	assert_int_equal(why.fault, f);
	assert_int_equal(why.found, found);
	assert_int_equal(why.expected, expected);
	/* The load refuses it the same way and loads nothing. */
	sg_proxy_config_default(&cfg);
	cfg.ct.capacity = 1024;
	cfg.seed = h_seed;
	assert_int_equal(sg_proxy_create(&cfg, 1, &p), 0);
	assert_int_equal(sg_ct_dump_load(p, buf, len, 0, &res, &why), -EINVAL);
	assert_int_equal(why.fault, f);
	assert_int_equal(sg_ct_count(sg_proxy_table(p)), 0);
	sg_proxy_destroy(p);
}

static void put32(uint8_t *b, size_t off, uint32_t v)
{
	memcpy(b + off, &v, 4);
}

static uint32_t get32(const uint8_t *b, size_t off)
{
	uint32_t v;

	memcpy(&v, b + off, 4);
	return v;
}

static void test_truncated_dump_is_refused(void **state)
{
	size_t len;
	uint8_t *buf = one_entry_dump(&len);
	uint32_t head = get32(buf, OFF_HEAD);

	(void)state;
	expect_fault(buf, len - 1, SG_CT_DUMP_LENGTH, len - 1, len);
	expect_fault(buf, head + 3, SG_CT_DUMP_LENGTH, head + 3, len);
	expect_fault(buf, head - 1, SG_CT_DUMP_SHORT, head - 1, head);
	expect_fault(buf, 10, SG_CT_DUMP_SHORT, 10, head);
	free(buf);
}

static void test_wrong_version_is_refused(void **state)
{
	size_t len;
	uint8_t *buf = one_entry_dump(&len);

	(void)state;
	put32(buf, OFF_VERSION, SG_CT_DUMP_VERSION + 1);
	expect_fault(buf, len, SG_CT_DUMP_VERSION_DIFF, SG_CT_DUMP_VERSION + 1, SG_CT_DUMP_VERSION);
	/* Named as another version even when cut short after the fixed fields. */
	expect_fault(buf, OFF_LAYOUT, SG_CT_DUMP_VERSION_DIFF, SG_CT_DUMP_VERSION + 1,
	             SG_CT_DUMP_VERSION);
	free(buf);
}

static void test_wrong_sizes_are_refused(void **state)
{
	size_t len;
	uint8_t *buf = one_entry_dump(&len);
	uint32_t head = get32(buf, OFF_HEAD), rec = get32(buf, OFF_REC);
	uint64_t layout, count;

	(void)state;
	put32(buf, OFF_HEAD, head + 8);
	expect_fault(buf, len, SG_CT_DUMP_HEAD_SIZE, head + 8, head);
	put32(buf, OFF_HEAD, head);
	put32(buf, OFF_REC, rec + 8);
	expect_fault(buf, len, SG_CT_DUMP_RECORD_SIZE, rec + 8, rec);
	put32(buf, OFF_REC, rec);
	put32(buf, OFF_PAYLOAD, SG_CT_PAYLOAD_BYTES * 2);
	expect_fault(buf, len, SG_CT_DUMP_PAYLOAD_SIZE, SG_CT_PAYLOAD_BYTES * 2, SG_CT_PAYLOAD_BYTES);
	put32(buf, OFF_PAYLOAD, SG_CT_PAYLOAD_BYTES);
	memcpy(&layout, buf + OFF_LAYOUT, 8);
	layout ^= 1;
	memcpy(buf + OFF_LAYOUT, &layout, 8);
	expect_fault(buf, len, SG_CT_DUMP_LAYOUT, layout, layout ^ 1);
	layout ^= 1;
	memcpy(buf + OFF_LAYOUT, &layout, 8);
	/* A count that disagrees with the bytes. */
	memcpy(&count, buf + OFF_COUNT, 8);
	assert_int_equal(count, 1);
	count = 2;
	memcpy(buf + OFF_COUNT, &count, 8);
	expect_fault(buf, len, SG_CT_DUMP_LENGTH, len, len + rec);
	free(buf);
}

static void test_corrupted_dump_is_refused_by_checksum(void **state)
{
	size_t len;
	uint8_t *buf = one_entry_dump(&len);
	struct sg_ct_dump_why why;

	(void)state;
	assert_int_equal(sg_ct_dump_check(buf, len, NULL, &why), 0);
	buf[len - 5] ^= 0x40;                 /* inside the record */
	expect_fault(buf, len, SG_CT_DUMP_CHECKSUM, 0, 0);
	buf[len - 5] ^= 0x40;
	buf[OFF_COUNT + 8 + 3] ^= 1;          /* the dump's instant */
	expect_fault(buf, len, SG_CT_DUMP_CHECKSUM, 0, 0);
	buf[OFF_COUNT + 8 + 3] ^= 1;
	buf[0] = 'X';
	expect_fault(buf, len, SG_CT_DUMP_MAGIC, 0, 0);
	free(buf);
}

/* A successor with a smaller table loads what fits and says so. */
static void test_load_into_a_full_table_counts_what_did_not_fit(void **state)
{
	struct sg_proxy_config cfg;
	struct sg_ct_load_result res;
	struct sg_ct_dump_why why;
	struct sg_proxy *p;
	struct h h;
	uint8_t *buf;
	size_t len;

	(void)state;
	h_init(&h, H_V4, NULL);
	for (unsigned i = 0; i < 40; i++) {
		h.cport = (uint16_t)(41000 + i);
		h.c_isn += 1000;
		h_proxied_open(&h);
	}
	buf = dump_of(&h, &len);
	sg_proxy_config_default(&cfg);
	cfg.ct.capacity = SG_CT_MIN_CAPACITY;
	cfg.seed = h_seed;
	assert_int_equal(sg_proxy_create(&cfg, 1, &p), 0);
	assert_int_equal(sg_ct_dump_load(p, buf, len, h.now, &res, &why), 0);
	assert_int_equal(res.loaded + res.refused, 40);
	assert_true(res.refused > 0);
	assert_int_equal(sg_ct_count(sg_proxy_table(p)), res.loaded);
	sg_proxy_destroy(p);
	free(buf);
	h_fini(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_successor_continues_every_connection),
		cmocka_unit_test(test_successor_without_dump_drops_the_connection),
		cmocka_unit_test(test_timers_continue_after_load),
		cmocka_unit_test(test_cookie_survives_with_the_seed),
		cmocka_unit_test(test_truncated_dump_is_refused),
		cmocka_unit_test(test_wrong_version_is_refused),
		cmocka_unit_test(test_wrong_sizes_are_refused),
		cmocka_unit_test(test_corrupted_dump_is_refused_by_checksum),
		cmocka_unit_test(test_load_into_a_full_table_counts_what_did_not_fit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
