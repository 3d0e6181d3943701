/* pcap backend: offline replay.  RX of each port reads its own capture;
 * TX of both ports appends to one output capture.
 *
 * The two inputs are merged by timestamp: a port only hands out its next
 * frame when the other port has nothing older waiting, so a conversation
 * split over lan.pcap and wan.pcap replays in the order it happened.
 * Each port reads one frame ahead to know its next timestamp.
 *
 * Frames are copied out of libpcap's buffer (it is reused by the next
 * read) into per-port slots, one per frame of a burst.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "io/backend.h"

#define PCAP_SLOT 65536u       /* largest frame a capture can hold */

struct pport {
	pcap_t *in;
	bool eof;
	bool have_la;               /* lookahead frame present */
	struct timeval la_ts;
	uint32_t la_len;
	uint8_t *la;                /* PCAP_SLOT bytes */
	uint8_t *slots;             /* batch x PCAP_SLOT */
};

struct pc {
	struct pport port[SG_IO_PORTS];
	pcap_t *dead;
	pcap_dumper_t *out;
	struct timeval now;         /* timestamp of the last frame read */
};

static void pc_close(struct sg_io *io)
{
	struct pc *c = io->priv;
	if (!c)
		return;
	for (unsigned p = 0; p < SG_IO_PORTS; p++) {
		if (c->port[p].in)
			pcap_close(c->port[p].in);
		free(c->port[p].la);
		free(c->port[p].slots);
	}
	if (c->out)
		pcap_dump_close(c->out);
	if (c->dead)
		pcap_close(c->dead);
	free(c);
	io->priv = NULL;
}

static int pc_open(struct sg_io *io, struct sg_io_err *err)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct pc *c = calloc(1, sizeof(*c));
	if (!c)
		return sg_io_fail(err, NULL, ENOMEM, "pcap state");
	io->priv = c;
	int rc = 0;
	for (unsigned p = 0; p < SG_IO_PORTS; p++) {
		struct pport *pp = &c->port[p];
		const char *path = io->opts.pcap_in[p];
		if (!path) {
			pp->eof = true;
			snprintf(io->desc[p], sizeof(io->desc[p]), "pcap, no input");
			continue;
		}
		pp->in = pcap_open_offline(path, ebuf);
		if (!pp->in) {
			/* libpcap gives no errno; ENOENT is the common case. */
			rc = sg_io_fail(err, io->ifname[p], ENOENT, "capture %s: %s",
			                path, ebuf);
			goto fail;
		}
		if (pcap_datalink(pp->in) != DLT_EN10MB) {
			rc = sg_io_fail(err, io->ifname[p], EINVAL,
			                "capture %s is not Ethernet (link type %d)", path,
			                pcap_datalink(pp->in));
			goto fail;
		}
		pp->la = malloc(PCAP_SLOT);
		pp->slots = malloc((size_t)io->opts.batch * PCAP_SLOT);
		if (!pp->la || !pp->slots) {
			rc = sg_io_fail(err, NULL, ENOMEM, "pcap buffers");
			goto fail;
		}
		snprintf(io->desc[p], sizeof(io->desc[p]), "pcap replay of %s", path);
	}
	if (io->opts.pcap_out) {
		c->dead = pcap_open_dead(DLT_EN10MB, PCAP_SLOT);
		if (!c->dead) {
			rc = sg_io_fail(err, NULL, ENOMEM, "pcap output");
			goto fail;
		}
		c->out = pcap_dump_open(c->dead, io->opts.pcap_out);
		if (!c->out) {
			rc = sg_io_fail(err, NULL, EACCES, "capture %s: %s",
			                io->opts.pcap_out, pcap_geterr(c->dead));
			goto fail;
		}
	}
	return 0;
fail:
	pc_close(io);
	return rc;
}

/* Makes sure port p has its next frame in the lookahead, unless at EOF. */
static void load(struct sg_io *io, struct pc *c, unsigned p)
{
	struct pport *pp = &c->port[p];
	while (!pp->have_la && !pp->eof) {
		struct pcap_pkthdr *h;
		const u_char *d;
		int r = pcap_next_ex(pp->in, &h, &d);
		if (r != 1) {
			if (r == PCAP_ERROR)
				sg_io_log(io, LOG_WARNING, "%s: reading capture: %s",
				          io->ifname[p], pcap_geterr(pp->in));
			pp->eof = true;
			break;
		}
		if (h->caplen < h->len || h->caplen > PCAP_SLOT) {
			/* Cut by the capture's snap length: not the wire frame. */
			io->st[p][0].c[SG_IO_STAT_RX_BAD]++;
			continue;
		}
		memcpy(pp->la, d, h->caplen);
		pp->la_len = h->caplen;
		pp->la_ts = h->ts;
		pp->have_la = true;
	}
}

static bool older(const struct timeval *a, const struct timeval *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_usec < b->tv_usec);
}

static int pc_rx(struct sg_io *io, unsigned port, unsigned q,
                 struct sg_io_frame *f, unsigned max)
{
	struct pc *c = io->priv;
	struct pport *pp = &c->port[port];
	struct pport *other = &c->port[1 - port];
	struct sg_io_stats *st = sg_io_st(io, port, q);
	if (max > io->opts.batch)
		max = io->opts.batch;
	unsigned n = 0;
	while (n < max) {
		load(io, c, port);
		if (!pp->have_la)
			break;
		load(io, c, 1 - port);
		if (other->have_la && older(&other->la_ts, &pp->la_ts))
			break;
		uint8_t *s = pp->slots + (size_t)n * PCAP_SLOT;
		memcpy(s, pp->la, pp->la_len);
		f[n].data = s;
		f[n].len = pp->la_len;
		f[n].origin = 1 + port;
		f[n].priv = 0;
		c->now = pp->la_ts;
		pp->have_la = false;
		st->c[SG_IO_STAT_RX_BYTES] += f[n].len;
		n++;
	}
	st->c[SG_IO_STAT_RX_FRAMES] += n;
	if (!n && pp->eof && !pp->have_la)
		return -ENODATA;
	return (int)n;
}

static bool pc_put(void *ctx, const struct sg_io_frame *f)
{
	struct pc *c = ctx;
	if (c->out) {
		struct pcap_pkthdr h = { .ts = c->now, .caplen = f->len, .len = f->len };
		pcap_dump((u_char *)c->out, &h, f->data);
	}
	return true;
}

static int pc_tx(struct sg_io *io, unsigned port, unsigned q,
                 struct sg_io_frame *f, unsigned n)
{
	return (int)sg_io_tx_each(sg_io_st(io, port, q), f, n, pc_put, io->priv);
}

const struct sg_io_ops sg_io_pcap_ops = {
	.name = "pcap",
	.open = pc_open,
	.close = pc_close,
	.rx = pc_rx,
	.tx = pc_tx,
	/* no release: frames are copies in slots the next burst reuses;
	 * no wait: a file is always ready (or at its end) */
};
