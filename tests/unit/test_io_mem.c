/* mem backend: frames injected come out of rx_burst unchanged and in
 * order, in bursts no larger than asked; tx_burst output can be taken back;
 * full rings are counted, not overrun; slots are reused only after the
 * next rx burst. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "io/io.h"

static struct sg_io *open_mem(unsigned nq, unsigned ring)
{
	struct sg_io_opts o;
	sg_io_opts_default(&o);
	o.kind = SG_IO_MEM;
	o.nqueues = nq;
	o.rx_ring = ring;
	o.tx_ring = ring;
	const char *names[SG_IO_PORTS] = { "lan-mem", "wan-mem" };
	struct sg_io *io = NULL;
	struct sg_io_err err;
	assert_int_equal(sg_io_open(&io, names, &o, &err), 0);
	assert_non_null(io);
	return io;
}

static void fill_frame(uint8_t *f, uint32_t len, uint32_t seq)
{
	for (uint32_t i = 0; i < len; i++)
		f[i] = (uint8_t)(seq * 31 + i);
}

static void injected_frames_come_out_in_order_and_unchanged(void **state)
{
	(void)state;
	struct sg_io *io = open_mem(1, 64);
	uint8_t f[1514];
	for (uint32_t i = 0; i < 10; i++) {
		fill_frame(f, 60 + i * 100, i);
		assert_int_equal(sg_io_mem_inject(io, 1, 0, f, 60 + i * 100), 0);
	}
	struct sg_io_frame rx[16];
	assert_int_equal(sg_io_rx_burst(io, 0, 0, rx, 16), 0);  /* other port */
	int n = sg_io_rx_burst(io, 1, 0, rx, 16);
	assert_int_equal(n, 10);
	for (uint32_t i = 0; i < 10; i++) {
		fill_frame(f, 60 + i * 100, i);
		assert_int_equal(rx[i].len, 60 + i * 100);
		assert_memory_equal(rx[i].data, f, rx[i].len);
		assert_int_not_equal(rx[i].origin, SG_IO_ORIGIN_CALLER);
	}
	sg_io_release(io, 1, 0, rx, (unsigned)n);
	assert_int_equal(sg_io_rx_burst(io, 1, 0, rx, 16), 0);
	struct sg_io_stats st;
	sg_io_stats(io, 1, 0, &st);
	assert_int_equal(st.c[SG_IO_STAT_RX_FRAMES], 10);
	sg_io_close(io);
}

static void rx_burst_never_returns_more_than_asked(void **state)
{
	(void)state;
	struct sg_io *io = open_mem(1, 128);
	uint8_t f[64] = {0};
	for (uint32_t i = 0; i < 100; i++) {
		f[0] = (uint8_t)i;
		assert_int_equal(sg_io_mem_inject(io, 0, 0, f, sizeof(f)), 0);
	}
	struct sg_io_frame rx[32];
	uint32_t seen = 0;
	int n;
	while ((n = sg_io_rx_burst(io, 0, 0, rx, 32)) > 0) {
		assert_true(n <= 32);
		for (int i = 0; i < n; i++)
			assert_int_equal(rx[i].data[0], (uint8_t)(seen + (uint32_t)i));
		seen += (uint32_t)n;
		sg_io_release(io, 0, 0, rx, (unsigned)n);
	}
	assert_int_equal(seen, 100);
	sg_io_close(io);
}

static void slots_are_reused_only_after_the_next_rx_burst(void **state)
{
	(void)state;
	struct sg_io *io = open_mem(1, 64);
	uint8_t f[64];
	memset(f, 0xaa, sizeof(f));
	for (int i = 0; i < 64; i++)
		assert_int_equal(sg_io_mem_inject(io, 0, 0, f, sizeof(f)), 0);
	assert_int_equal(sg_io_mem_inject(io, 0, 0, f, sizeof(f)), -ENOBUFS);

	struct sg_io_frame rx[64];
	assert_int_equal(sg_io_rx_burst(io, 0, 0, rx, 64), 64);
	/* Handed out but not yet given back: the ring is still full, so
	 * the frames the caller holds cannot be overwritten. */
	assert_int_equal(sg_io_mem_inject(io, 0, 0, f, sizeof(f)), -ENOBUFS);
	assert_int_equal(rx[0].data[0], 0xaa);
	sg_io_release(io, 0, 0, rx, 64);
	assert_int_equal(sg_io_rx_burst(io, 0, 0, rx, 64), 0);
	memset(f, 0x55, sizeof(f));
	assert_int_equal(sg_io_mem_inject(io, 0, 0, f, sizeof(f)), 0);
	assert_int_equal(sg_io_rx_burst(io, 0, 0, rx, 64), 1);
	assert_int_equal(rx[0].data[0], 0x55);
	sg_io_close(io);
}

static void forwarded_frames_can_be_taken_from_the_other_port(void **state)
{
	(void)state;
	struct sg_io *io = open_mem(2, 64);
	uint8_t f[200], out[2048];
	fill_frame(f, sizeof(f), 7);
	assert_int_equal(sg_io_mem_inject(io, 0, 1, f, sizeof(f)), 0);
	struct sg_io_frame rx[4];
	assert_int_equal(sg_io_rx_burst(io, 0, 1, rx, 4), 1);
	rx[0].data[0] ^= 0xff;                 /* rewritten in place */
	assert_int_equal(sg_io_tx_burst(io, 1, 1, rx, 1), 1);

	uint8_t built[60];
	memset(built, 0x42, sizeof(built));
	struct sg_io_frame mine = { .data = built, .len = sizeof(built),
	                            .origin = SG_IO_ORIGIN_CALLER };
	assert_int_equal(sg_io_tx_burst(io, 1, 1, &mine, 1), 1);

	uint32_t len = 0;
	assert_int_equal(sg_io_mem_take(io, 1, 0, out, sizeof(out), &len), -EAGAIN);
	assert_int_equal(sg_io_mem_take(io, 1, 1, out, sizeof(out), &len), 0);
	f[0] ^= 0xff;
	assert_int_equal(len, sizeof(f));
	assert_memory_equal(out, f, sizeof(f));
	assert_int_equal(sg_io_mem_take(io, 1, 1, out, sizeof(out), &len), 0);
	assert_int_equal(len, sizeof(built));
	assert_memory_equal(out, built, sizeof(built));
	assert_int_equal(sg_io_mem_take(io, 1, 1, out, sizeof(out), &len), -EAGAIN);

	struct sg_io_stats st;
	sg_io_stats(io, 1, 1, &st);
	assert_int_equal(st.c[SG_IO_STAT_TX_FRAMES], 2);
	assert_int_equal(st.c[SG_IO_STAT_TX_BYTES], sizeof(f) + sizeof(built));
	sg_io_close(io);
}

static void tx_beyond_ring_room_is_counted_as_dropped(void **state)
{
	(void)state;
	struct sg_io *io = open_mem(1, 64);
	uint8_t b[60] = {0};
	struct sg_io_frame fr[100];
	for (int i = 0; i < 100; i++)
		fr[i] = (struct sg_io_frame){ .data = b, .len = sizeof(b) };
	assert_int_equal(sg_io_tx_burst(io, 0, 0, fr, 100), 64);
	struct sg_io_stats st;
	sg_io_stats(io, 0, 0, &st);
	assert_int_equal(st.c[SG_IO_STAT_TX_FRAMES], 64);
	assert_int_equal(st.c[SG_IO_STAT_TX_DROPS], 36);
	sg_io_close(io);
}

static void take_with_a_short_buffer_fails_and_keeps_the_frame(void **state)
{
	(void)state;
	struct sg_io *io = open_mem(1, 64);
	uint8_t b[300] = {1}, out[300];
	struct sg_io_frame fr = { .data = b, .len = sizeof(b) };
	assert_int_equal(sg_io_tx_burst(io, 0, 0, &fr, 1), 1);
	uint32_t len;
	assert_int_equal(sg_io_mem_take(io, 0, 0, out, 100, &len), -EMSGSIZE);
	assert_int_equal(sg_io_mem_take(io, 0, 0, out, sizeof(out), &len), 0);
	assert_int_equal(len, sizeof(b));
	sg_io_close(io);
}

static void oversized_inject_is_refused(void **state)
{
	(void)state;
	struct sg_io *io = open_mem(1, 64);
	static uint8_t big[4096];
	assert_int_equal(sg_io_mem_inject(io, 0, 0, big, sizeof(big)), -EMSGSIZE);
	assert_int_equal(sg_io_mem_inject(io, 2, 0, big, 60), -EINVAL);
	assert_int_equal(sg_io_mem_inject(io, 0, 1, big, 60), -EINVAL);
	sg_io_close(io);
}

static void bad_options_are_rejected_with_a_message(void **state)
{
	(void)state;
	struct sg_io_opts o;
	sg_io_opts_default(&o);
	o.kind = SG_IO_MEM;
	o.rx_ring = 1000;                       /* not a power of two */
	const char *names[SG_IO_PORTS] = { "a", "b" };
	struct sg_io *io = (struct sg_io *)1;
	struct sg_io_err err;
	assert_int_equal(sg_io_open(&io, names, &o, &err), -EINVAL);
	assert_null(io);
	assert_int_equal(err.err, EINVAL);
	assert_non_null(strstr(err.msg, "EINVAL"));
	assert_non_null(strstr(err.msg, "ring"));

	sg_io_opts_default(&o);
	o.kind = SG_IO_MEM;
	o.nqueues = 0;
	assert_int_equal(sg_io_open(&io, names, &o, &err), -EINVAL);
	sg_io_opts_default(&o);
	o.kind = SG_IO_MEM;
	o.batch = SG_IO_BATCH_MAX + 1;
	assert_int_equal(sg_io_open(&io, names, &o, &err), -EINVAL);
}

static void kind_names_parse_back(void **state)
{
	(void)state;
	enum sg_io_kind k;
	for (int i = SG_IO_AUTO; i <= SG_IO_MEM; i++) {
		assert_int_equal(sg_io_kind_parse(sg_io_kind_name((enum sg_io_kind)i), &k), 0);
		assert_int_equal(k, i);
	}
	assert_int_equal(sg_io_kind_parse("netmap", &k), -EINVAL);
}

static void stat_names_are_distinct_snake_case(void **state)
{
	(void)state;
	for (int i = 0; i < SG_IO_STAT__COUNT; i++) {
		const char *a = sg_io_stat_name((enum sg_io_stat)i);
		assert_non_null(a);
		assert_true(a[0] >= 'a' && a[0] <= 'z');
		assert_int_equal(strspn(a, "abcdefghijklmnopqrstuvwxyz_"), strlen(a));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(a, sg_io_stat_name((enum sg_io_stat)j));
	}
	assert_string_equal(sg_io_stat_name(SG_IO_STAT_RX_KERNEL_DROPS), "rx_kernel_drops");
	assert_string_equal(sg_io_stat_name(SG_IO_STAT__COUNT), "invalid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(injected_frames_come_out_in_order_and_unchanged),
		cmocka_unit_test(rx_burst_never_returns_more_than_asked),
		cmocka_unit_test(slots_are_reused_only_after_the_next_rx_burst),
		cmocka_unit_test(forwarded_frames_can_be_taken_from_the_other_port),
		cmocka_unit_test(tx_beyond_ring_room_is_counted_as_dropped),
		cmocka_unit_test(take_with_a_short_buffer_fails_and_keeps_the_frame),
		cmocka_unit_test(oversized_inject_is_refused),
		cmocka_unit_test(bad_options_are_rejected_with_a_message),
		cmocka_unit_test(kind_names_parse_back),
		cmocka_unit_test(stat_names_are_distinct_snake_case),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
