/* pcap backend: frames of two captures come out merged by timestamp, in
 * bursts, unchanged; what is sent lands in the output capture; the end of
 * the input is reported; cut frames are counted and skipped. */
#include <errno.h>
#include <pcap/pcap.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "io/io.h"

struct rec {
	int sec, usec;
	uint32_t len, caplen;
	uint8_t tag;
};

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sg-test-pcap-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void path(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
}

static void write_capture(const char *file, const struct rec *r, unsigned n)
{
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	assert_non_null(dead);
	pcap_dumper_t *d = pcap_dump_open(dead, file);
	assert_non_null(d);
	uint8_t buf[2048];
	for (unsigned i = 0; i < n; i++) {
		memset(buf, r[i].tag, sizeof(buf));
		struct pcap_pkthdr h = { .ts = { r[i].sec, r[i].usec },
		                         .caplen = r[i].caplen, .len = r[i].len };
		pcap_dump((u_char *)d, &h, buf);
	}
	pcap_dump_close(d);
	pcap_close(dead);
}

static struct sg_io *open_pcap(const char *lan, const char *wan,
                               const char *out, unsigned batch)
{
	struct sg_io_opts o;
	sg_io_opts_default(&o);
	o.kind = SG_IO_PCAP;
	o.pcap_in[0] = lan;
	o.pcap_in[1] = wan;
	o.pcap_out = out;
	o.batch = batch;
	const char *names[SG_IO_PORTS] = { "lan", "wan" };
	struct sg_io *io = NULL;
	struct sg_io_err err;
	int rc = sg_io_open(&io, names, &o, &err);
	assert_int_equal(rc, 0);
	return io;
}

static void two_captures_replay_merged_by_timestamp(void **state)
{
	(void)state;
	char lan[96], wan[96];
	path(lan, sizeof(lan), "lan.pcap");
	path(wan, sizeof(wan), "wan.pcap");
	/* wan: SYN at t=1, ACK at t=3; lan: SYN-ACK at t=2, data at t=4,5 */
	const struct rec w[] = { { 1, 0, 60, 60, 'a' }, { 3, 0, 60, 60, 'c' } };
	const struct rec l[] = { { 2, 0, 60, 60, 'b' }, { 4, 0, 100, 100, 'd' },
	                         { 5, 0, 1514, 1514, 'e' } };
	write_capture(wan, w, 2);
	write_capture(lan, l, 3);
	struct sg_io *io = open_pcap(lan, wan, NULL, 8);

	char order[8] = {0};
	unsigned k = 0;
	int ends = 0;
	struct sg_io_frame f[8];
	for (int round = 0; round < 20 && ends < 2; round++) {
		ends = 0;
		for (unsigned p = 0; p < SG_IO_PORTS; p++) {
			int n = sg_io_rx_burst(io, p, 0, f, 8);
			if (n == -ENODATA) {
				ends++;
				continue;
			}
			assert_true(n >= 0);
			for (int i = 0; i < n; i++) {
				assert_true(k < sizeof(order) - 1);
				order[k++] = (char)f[i].data[0];
				assert_int_equal(f[i].data[f[i].len - 1], f[i].data[0]);
			}
			sg_io_release(io, p, 0, f, (unsigned)n);
		}
	}
	assert_int_equal(ends, 2);
	assert_string_equal(order, "abcde");
	struct sg_io_stats st;
	sg_io_stats(io, 0, 0, &st);
	assert_int_equal(st.c[SG_IO_STAT_RX_FRAMES], 3);
	assert_int_equal(st.c[SG_IO_STAT_RX_BYTES], 60 + 100 + 1514);
	sg_io_close(io);
}

static void bursts_hold_at_most_the_batch_size(void **state)
{
	(void)state;
	char lan[96];
	path(lan, sizeof(lan), "many.pcap");
	struct rec r[20];
	for (int i = 0; i < 20; i++)
		r[i] = (struct rec){ 1, i, 64, 64, (uint8_t)i };
	write_capture(lan, r, 20);
	struct sg_io *io = open_pcap(lan, NULL, NULL, 4);
	struct sg_io_frame f[16];
	int total = 0, n;
	while ((n = sg_io_rx_burst(io, 0, 0, f, 16)) > 0) {
		assert_true(n <= 4);
		for (int i = 0; i < n; i++)
			assert_int_equal(f[i].data[0], total + i);
		total += n;
	}
	assert_int_equal(n, -ENODATA);
	assert_int_equal(total, 20);
	assert_int_equal(sg_io_rx_burst(io, 1, 0, f, 16), -ENODATA);
	sg_io_close(io);
}

static void sent_frames_land_in_the_output_capture(void **state)
{
	(void)state;
	char wan[96], out[96];
	path(wan, sizeof(wan), "in.pcap");
	path(out, sizeof(out), "out.pcap");
	const struct rec w[] = { { 7, 5, 80, 80, 'x' }, { 8, 0, 90, 90, 'y' } };
	write_capture(wan, w, 2);
	struct sg_io *io = open_pcap(NULL, wan, out, 8);
	struct sg_io_frame f[8];
	assert_int_equal(sg_io_rx_burst(io, 1, 0, f, 8), 2);
	f[0].data[1] = 'Z';                         /* rewritten in place */
	assert_int_equal(sg_io_tx_burst(io, 0, 0, f, 2), 2);
	uint8_t built[60];
	memset(built, 'q', sizeof(built));
	struct sg_io_frame mine = { .data = built, .len = sizeof(built) };
	assert_int_equal(sg_io_tx_burst(io, 1, 0, &mine, 1), 1);
	sg_io_close(io);

	char eb[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(out, eb);
	assert_non_null(p);
	struct pcap_pkthdr *h;
	const u_char *d;
	assert_int_equal(pcap_next_ex(p, &h, &d), 1);
	assert_int_equal(h->len, 80);
	assert_int_equal(d[0], 'x');
	assert_int_equal(d[1], 'Z');
	assert_int_equal(pcap_next_ex(p, &h, &d), 1);
	assert_int_equal(h->len, 90);
	assert_int_equal(d[0], 'y');
	assert_int_equal(pcap_next_ex(p, &h, &d), 1);
	assert_int_equal(h->len, 60);
	assert_int_equal(d[0], 'q');
	assert_int_equal(h->ts.tv_sec, 8);         /* time of the replay */
	assert_int_equal(pcap_next_ex(p, &h, &d), PCAP_ERROR_BREAK);
	pcap_close(p);
}

static void frames_cut_by_the_snap_length_are_counted_and_skipped(void **state)
{
	(void)state;
	char lan[96];
	path(lan, sizeof(lan), "cut.pcap");
	const struct rec r[] = { { 1, 0, 1514, 96, 'c' }, { 2, 0, 64, 64, 'o' } };
	write_capture(lan, r, 2);
	struct sg_io *io = open_pcap(lan, NULL, NULL, 8);
	struct sg_io_frame f[8];
	assert_int_equal(sg_io_rx_burst(io, 0, 0, f, 8), 1);
	assert_int_equal(f[0].data[0], 'o');
	struct sg_io_stats st;
	sg_io_stats(io, 0, 0, &st);
	assert_int_equal(st.c[SG_IO_STAT_RX_BAD], 1);
	sg_io_close(io);
}

static void a_missing_capture_is_reported_with_its_path(void **state)
{
	(void)state;
	struct sg_io_opts o;
	sg_io_opts_default(&o);
	o.kind = SG_IO_PCAP;
	o.pcap_in[1] = "/nonexistent/capture.pcap";
	const char *names[SG_IO_PORTS] = { "lan", "wan" };
	struct sg_io *io = NULL;
	struct sg_io_err err;
	assert_int_equal(sg_io_open(&io, names, &o, &err), -ENOENT);
	assert_null(io);
	assert_non_null(strstr(err.msg, "/nonexistent/capture.pcap"));
	assert_non_null(strstr(err.msg, "wan"));

	o.pcap_in[1] = NULL;
	o.nqueues = 2;
	assert_int_equal(sg_io_open(&io, names, &o, &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(two_captures_replay_merged_by_timestamp),
		cmocka_unit_test(bursts_hold_at_most_the_batch_size),
		cmocka_unit_test(sent_frames_land_in_the_output_capture),
		cmocka_unit_test(frames_cut_by_the_snap_length_are_counted_and_skipped),
		cmocka_unit_test(a_missing_capture_is_reported_with_its_path),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
