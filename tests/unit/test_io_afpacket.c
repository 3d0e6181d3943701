/* afpacket backend against a peer with offloads, in a network namespace of
 * the test's own (root only; skipped otherwise):
 *
 *   pa --veth-- wan [afpacket]  [afpacket] lan --veth-- pb
 *
 * pa sends what a Linux endpoint with TSO and TX checksum offload sends (a
 * packet socket with PACKET_VNET_HDR hands the kernel the same skb): GSO
 * super-frames and partial checksums.  What reaches pb is read with its
 * tp_status (PACKET_AUXDATA), so a checksum left to the kernel shows as
 * TP_STATUS_CSUMNOTREADY. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>
#include <cmocka.h>

#include "io/io.h"
#include "net/build.h"
#include "net/bytes.h"
#include "net/pkt.h"

#define LAN 0
#define WAN 1
#define SPORT 40001
#define DPORT 8080
#define MSS 1000

static bool have_netns;
static char logged[1024];

static void log_cb(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (level <= LOG_WARNING)
		snprintf(logged, sizeof(logged), "%s", msg);
}

static int sys(const char *cmd)
{
	int rc = system(cmd);
	return rc == 0 ? 0 : -1;
}

static void put(const char *path, const char *v)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(v, f);
		fclose(f);
	}
}

/* A namespace of our own: nothing of the host is touched, and it goes
 * when the process ends. */
static int group_setup(void **state)
{
	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0)
		return 0;
	/* No IPv6 chatter (router and neighbour solicitations) on the links. */
	put("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	put("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	have_netns = sys("ip link add pa type veth peer name wan && "
	                 "ip link add pb type veth peer name lan && "
	                 "ip link set pa up && ip link set wan up && "
	                 "ip link set pb up && ip link set lan up") == 0;
	return 0;
}

static struct sg_io *open_afp(void)
{
	struct sg_io_opts o;
	struct sg_io *io = NULL;
	struct sg_io_err err;
	const char *names[SG_IO_PORTS] = { "lan", "wan" };

	sg_io_opts_default(&o);
	o.kind = SG_IO_AFPACKET;
	o.rx_ring = 256;
	o.tx_ring = 256;
	o.log = log_cb;
	assert_int_equal(sg_io_open(&io, names, &o, &err), 0);
	assert_non_null(strstr(sg_io_describe(io, WAN), "virtio_net_hdr"));
	return io;
}

/* A packet socket on ifname: vnet to send with a virtio_net_hdr, auxdata to
 * read tp_status. */
static int raw(const char *ifname, bool vnet)
{
	const int one = 1;
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
	                           .sll_ifindex = (int)if_nametoindex(ifname) };

	assert_true(fd >= 0);
	if (vnet)
		assert_int_equal(setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)), 0);
	assert_int_equal(setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return fd;
}

/* A TCP frame of the test's flow, payload bytes i * 7, with the checksum a
 * Linux endpoint with TX offload leaves: the pseudo-header fold. */
static uint32_t make_frame(uint8_t *buf, size_t cap, int family, uint32_t payload, uint8_t flags)
{
	static uint8_t data[9000];
	struct sg_tcp_frame f = { .dst_mac = { 2, 0, 0, 0, 0, 0xb }, .src_mac = { 2, 0, 0, 0, 0, 0xa },
	                          .family = (uint8_t)family, .sport = SPORT, .dport = DPORT,
	                          .seq = 1000, .ack = 5, .flags = flags, .win = 512,
	                          .payload = data, .payload_len = (uint16_t)payload };
	struct sg_pkt p;

	for (uint32_t i = 0; i < payload; i++)
		data[i] = (uint8_t)(i * 7);
	f.opt.present = SG_OPT_TS;
	f.opt.tsval = 77;
	f.opt.tsecr = 88;
	if (family == 4) {
		memcpy(f.saddr, (uint8_t[]){ 10, 0, 0, 1 }, 4);
		memcpy(f.daddr, (uint8_t[]){ 10, 0, 0, 2 }, 4);
	} else {
		memcpy(f.saddr, (uint8_t[]){ 0xfd, [15] = 1 }, 16);
		memcpy(f.daddr, (uint8_t[]){ 0xfd, [15] = 2 }, 16);
	}
	int len = sg_build_tcp(buf, cap, &f);
	assert_true(len > 0);
	assert_int_equal(sg_pkt_parse(&p, buf, (uint32_t)len), SG_PKT_TCP);
	assert_int_equal(sg_pkt_l4_csum_prepare(&p), 16);
	return (uint32_t)len;
}

static void send_vnet(int fd, const uint8_t *frame, uint32_t len, uint8_t gso_type, uint16_t gso_size)
{
	struct sg_pkt p;
	struct virtio_net_hdr vh = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = gso_type,
	                             .gso_size = gso_size };
	struct iovec iov[2] = { { &vh, sizeof(vh) }, { (void *)frame, len } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };

	sg_pkt_parse(&p, (uint8_t *)frame, len);
	vh.csum_start = p.l4_off;
	vh.csum_offset = 16;
	vh.hdr_len = (uint16_t)(p.l4_off + p.tcp_hlen);
	assert_int_equal(sendmsg(fd, &m, 0), (ssize_t)(sizeof(vh) + len));
}

/* The next frame of the test's flow on (port, 0), skipping anything else. */
static void rx_flow(struct sg_io *io, unsigned port, struct sg_io_frame *out)
{
	for (int tries = 0; tries < 200; tries++) {
		struct sg_io_frame f[16];
		int n;

		sg_io_wait(io, 0, 10);
		n = sg_io_rx_burst(io, port, 0, f, 16);
		for (int i = 0; i < n; i++) {
			struct sg_pkt p;

			if (sg_pkt_parse(&p, f[i].data, f[i].len) == SG_PKT_TCP && p.dport == DPORT) {
				*out = f[i];
				return;
			}
		}
	}
	fail_msg("no frame of the flow arrived on port %u", port);
}

struct got {
	uint8_t b[2048];
	uint32_t len;
	uint32_t status;             /* tp_status from PACKET_AUXDATA */
};

/* Up to max frames of the test's flow that reach fd within 500 ms. */
static unsigned recv_flow(int fd, struct got *g, unsigned max)
{
	unsigned n = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	while (n < max && poll(&pfd, 1, 500) > 0) {
		char cbuf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
		struct iovec iov = { g[n].b, sizeof(g[n].b) };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
		                    .msg_controllen = sizeof(cbuf) };
		ssize_t r = recvmsg(fd, &m, 0);
		struct sg_pkt p;

		assert_true(r > 0);
		if (sg_pkt_parse(&p, g[n].b, (uint32_t)r) != SG_PKT_TCP || p.dport != DPORT)
			continue;
		g[n].len = (uint32_t)r;
		g[n].status = 0;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
			if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA)
				g[n].status = ((struct tpacket_auxdata *)CMSG_DATA(c))->tp_status;
		n++;
	}
	return n;
}

static uint64_t stat_of(struct sg_io *io, unsigned port, enum sg_io_stat s)
{
	struct sg_io_stats st;

	sg_io_stats(io, port, 0, &st);
	return st.c[s];
}

static void gso_frame_is_cut_like_the_kernel_cuts_it(int family)
{
	static uint8_t frame[9100];
	const uint32_t payload = 2 * MSS + 500;
	uint8_t flags = SG_TCP_ACK | SG_TCP_PSH | SG_TCP_FIN | SG_TCP_CWR;
	uint32_t len = make_frame(frame, sizeof(frame), family, payload, flags);
	struct sg_io *io = open_afp();
	int pa = raw("pa", true), pb = raw("pb", false);
	struct sg_io_frame f;
	struct got g[4];

	send_vnet(pa, frame, len, family == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6, MSS);
	/* The super-frame arrives whole, with its partial checksum. */
	rx_flow(io, WAN, &f);
	assert_int_equal(f.len, len);
	assert_memory_equal(f.data, frame, len);
	assert_int_equal(stat_of(io, WAN, SG_IO_STAT_RX_GSO), 1);
	/* The core finishes and edits it; then it is forwarded. */
	struct sg_pkt sp;
	assert_int_equal(sg_pkt_parse(&sp, f.data, f.len), SG_PKT_TCP);
	assert_true(sg_pkt_l4_csum_complete(&sp));
	assert_int_equal(sg_io_tx_burst(io, LAN, 0, &f, 1), 1);
	sg_io_flush(io, 0);

	assert_int_equal(recv_flow(pb, g, 4), 3);
	assert_int_equal(stat_of(io, LAN, SG_IO_STAT_TX_GSO), 1);
	uint16_t id0 = 0;
	for (unsigned i = 0; i < 3; i++) {
		struct sg_pkt p;
		uint32_t n = i < 2 ? MSS : 500;

		/* sg_pkt_parse checks the IPv4 header checksum too. */
		assert_int_equal(sg_pkt_parse(&p, g[i].b, g[i].len), SG_PKT_TCP);
		assert_int_equal(p.payload_len, n);
		assert_int_equal(p.seq, 1000 + i * MSS);
		assert_int_equal(p.tcp_flags & SG_TCP_CWR, i == 0 ? SG_TCP_CWR : 0);
		assert_int_equal(p.tcp_flags & (SG_TCP_FIN | SG_TCP_PSH),
		                 i == 2 ? SG_TCP_FIN | SG_TCP_PSH : 0);
		assert_int_equal(p.opt.tsval, 77);
		assert_memory_equal(g[i].b + p.l4_off + p.tcp_hlen,
		                    frame + sp.l4_off + sp.tcp_hlen + i * MSS, n);
		if (family == 4) {
			if (i == 0)
				id0 = sg_rd16(g[i].b + p.l3_off + 4);
			assert_int_equal(sg_rd16(g[i].b + p.l3_off + 4), (uint16_t)(id0 + i));
		}
		/* Left for the kernel to finish, and right once finished. */
		assert_true(g[i].status & TP_STATUS_CSUMNOTREADY);
		assert_true(sg_pkt_l4_csum_complete(&p));
		assert_true(sg_pkt_tcp_csum_ok(&p));
	}
	close(pa);
	close(pb);
	sg_io_close(io);
}

static void gso_v4(void **state)
{
	(void)state;
	if (!have_netns)
		skip();
	gso_frame_is_cut_like_the_kernel_cuts_it(4);
}

static void gso_v6(void **state)
{
	(void)state;
	if (!have_netns)
		skip();
	gso_frame_is_cut_like_the_kernel_cuts_it(6);
}

/* Bridge-only (nobody finishes the checksum): the kernel is asked to.  A
 * frame whose checksum the core finished goes out as it is. */
static void partial_checksums_are_left_to_the_kernel_unless_finished(void **state)
{
	(void)state;
	if (!have_netns)
		skip();
	uint8_t frame[600];
	uint32_t len = make_frame(frame, sizeof(frame), 4, 100, SG_TCP_ACK);
	struct sg_io *io = open_afp();
	int pa = raw("pa", true), pb = raw("pb", false);
	struct sg_io_frame f;
	struct got g[2];
	struct sg_pkt p;

	send_vnet(pa, frame, len, VIRTIO_NET_HDR_GSO_NONE, 0);
	rx_flow(io, WAN, &f);
	assert_int_equal(sg_io_tx_burst(io, LAN, 0, &f, 1), 1);
	sg_io_flush(io, 0);
	assert_int_equal(recv_flow(pb, g, 2), 1);
	assert_memory_equal(g[0].b, frame, len);
	assert_true(g[0].status & TP_STATUS_CSUMNOTREADY);

	send_vnet(pa, frame, len, VIRTIO_NET_HDR_GSO_NONE, 0);
	rx_flow(io, WAN, &f);
	sg_pkt_parse(&p, f.data, f.len);
	assert_true(sg_pkt_l4_csum_complete(&p));
	assert_int_equal(sg_io_tx_burst(io, LAN, 0, &f, 1), 1);
	sg_io_flush(io, 0);
	assert_int_equal(recv_flow(pb, g, 2), 1);
	assert_false(g[0].status & TP_STATUS_CSUMNOTREADY);
	sg_pkt_parse(&p, g[0].b, g[0].len);
	assert_true(sg_pkt_tcp_csum_ok(&p));
	close(pa);
	close(pb);
	sg_io_close(io);
}

/* What no TX slot holds is counted and said, not lost in silence. */
static void frames_no_slot_holds_are_counted_and_said(void **state)
{
	(void)state;
	if (!have_netns)
		skip();
	static uint8_t frame[9100];
	struct sg_io *io = open_afp();
	int pa = raw("pa", true);
	struct sg_io_frame f = { .data = frame, .origin = SG_IO_ORIGIN_CALLER };

	f.len = make_frame(frame, sizeof(frame), 4, 3000, SG_TCP_ACK);
	logged[0] = 0;
	assert_int_equal(sg_io_tx_burst(io, LAN, 0, &f, 1), 0);
	assert_int_equal(stat_of(io, LAN, SG_IO_STAT_TX_OVERSIZE), 1);
	assert_int_equal(stat_of(io, LAN, SG_IO_STAT_TX_DROPS), 1);
	assert_non_null(strstr(logged, "lan: dropped a"));

	/* A super-frame whose segments (gso_size 4000) exceed a slot. */
	uint32_t len = make_frame(frame, sizeof(frame), 4, 8000, SG_TCP_ACK);
	send_vnet(pa, frame, len, VIRTIO_NET_HDR_GSO_TCPV4, 4000);
	rx_flow(io, WAN, &f);
	assert_int_equal(sg_io_tx_burst(io, LAN, 0, &f, 1), 0);
	assert_int_equal(stat_of(io, LAN, SG_IO_STAT_TX_OVERSIZE), 2);
	close(pa);
	sg_io_close(io);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gso_v4),
		cmocka_unit_test(gso_v6),
		cmocka_unit_test(partial_checksums_are_left_to_the_kernel_unless_finished),
		cmocka_unit_test(frames_no_slot_holds_are_counted_and_said),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
