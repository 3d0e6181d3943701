/* TCP options: parse and build side by side, so one checks the other
 * (RFC 9293 §3.2, RFC 7323 for WS and TS, RFC 2018 for SACK).
 *
 * Parsing walks kind/length pairs; EOL ends the list, NOP is one byte,
 * unknown kinds are skipped by their length.  A length below 2 or past the
 * end, or a known kind with the wrong length (MSS 4, WS 3, SACK-permitted
 * 2, TS 10, SACK 2+8n with 1 <= n <= 4), is malformed: nothing past the
 * option area is ever read.  A repeated option keeps its first value.
 */
#ifndef SG_NET_TCPOPT_H
#define SG_NET_TCPOPT_H

#include <stddef.h>
#include <stdint.h>

#include "net/pkt.h"

#define SG_TCPOPT_EOL      0
#define SG_TCPOPT_NOP      1
#define SG_TCPOPT_MSS      2
#define SG_TCPOPT_WS       3
#define SG_TCPOPT_SACKPERM 4
#define SG_TCPOPT_SACK     5
#define SG_TCPOPT_TS       8

#define SG_TCPOPT_MAXLEN   40

/* The smallest MSS every host must accept (RFC 9293 §3.7.1; IPv6: the
 * minimum MTU of RFC 8200 §5 less 60 bytes of headers), and the largest
 * window scale (RFC 7323 §2.3). */
#define SG_TCP_MSS4_MIN    536
#define SG_TCP_MSS6_MIN    1220
#define SG_TCP_WSCALE_MAX  14

/* Parses opts[0..len) (the bytes after the 20-byte TCP header) into *out.
 * base is the offset of opts[0] from the TCP header start (20), so the
 * *_off fields come out relative to the header.  Returns 0 or -EINVAL. */
int sg_tcpopt_parse(const uint8_t *opts, size_t len, unsigned base,
                    struct sg_tcp_opts *out);

/* Writes the options in o->present (MSS, WS, SACK-permitted, TS; SACK
 * blocks are never built) in the order Linux uses, NOP-padded to a multiple
 * of 4, into buf.  Returns the length written (0..40), or -ENOSPC when cap
 * is too small.  The *_off fields of o are not read. */
int sg_tcpopt_build(uint8_t *buf, size_t cap, const struct sg_tcp_opts *o);

/* The same, adding the written words to the checksum sum *sum (memory
 * order, as sg_csum_partial sums): a builder that summed the option bytes
 * back from memory right after storing them would stall on every frame. */
int sg_tcpopt_build_sum(uint8_t *buf, size_t cap, const struct sg_tcp_opts *o, uint64_t *sum);

/* The byte offset, from the TCP header start, of SACK block i's left edge
 * (right edge is +4).  Requires SG_OPT_SACK in o->present. */
static inline unsigned sg_tcpopt_sack_edge(const struct sg_tcp_opts *o, unsigned i)
{
	return o->sack_off + 2u + 8u * i;
}

#endif
