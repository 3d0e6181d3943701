/* What one call of the core hands back: a verdict for the frame it was
 * given, and the frames it made (SYN-ACKs, SYNs, ACKs, RSTs) for either
 * port, written into buffers the caller lends it.  See proxy.h for the
 * contract of a call. */
#ifndef SG_CORE_VERDICT_H
#define SG_CORE_VERDICT_H

#include <stddef.h>
#include <stdint.h>

enum sg_port {
	SG_PORT_LAN = 0,   /* towards the protected servers */
	SG_PORT_WAN = 1,   /* towards the clients */
	SG_PORT_COUNT
};

enum sg_verdict {
	SG_VERDICT_FORWARD = 0,
	SG_VERDICT_DROP,
	SG_VERDICT_CONSUME,
};

#define SG_OUT_MAX        4     /* frames one call can emit */
#define SG_OUT_FRAME_MAX  256   /* an emitted frame never exceeds this */

struct sg_out_frame {
	uint8_t *buf;
	uint16_t len;
	uint8_t  port;            /* enum sg_port */
};

struct sg_out {
	unsigned n;
	unsigned cap;
	struct sg_out_frame f[SG_OUT_MAX];
};

/* Empties out and points its slots at consecutive SG_OUT_FRAME_MAX-byte
 * buffers starting at bufs, as many as nbufs gives (at most SG_OUT_MAX). */
static inline void sg_out_init(struct sg_out *out, uint8_t *bufs, unsigned nbufs)
{
	out->n = 0;
	out->cap = nbufs < SG_OUT_MAX ? nbufs : SG_OUT_MAX;
	for (unsigned i = 0; i < out->cap; i++) {
		out->f[i].buf = bufs + (size_t)i * SG_OUT_FRAME_MAX;
		out->f[i].len = 0;
	}
}

#endif
