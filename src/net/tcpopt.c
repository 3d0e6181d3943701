/* TCP options: parse and build side by side (see tcpopt.h). */
#include "net/tcpopt.h"

#include <errno.h>
#include <string.h>

#include "net/bytes.h"
#include "net/csum.h"

#define LEN_MSS       4
#define LEN_WS        3
#define LEN_SACKPERM  2
#define LEN_TS        10
#define LEN_SACK_BLK  8

/* NOP, NOP, kind TS, length 10: the RFC 7323 Appendix A layout. */
#define TS_ALIGNED_HDR 0x0101080au
#define SYN_MSS_HDR          0x0204u       /* kind MSS, length 4 */
#define SYN_SACKPERM_TS_HDR  0x0402080au   /* SACK-perm, kind TS, length 10 */
#define SYN_WS_HDR           0x010303u     /* NOP, kind WS, length 3 */
#define SACKPERM_ALIGNED_HDR 0x01010402u   /* NOP, NOP, SACK-perm, length 2 */

/* The SG_OPT_* bit of an option a cookie cannot answer for, or 0. */
static uint8_t unanswerable(uint8_t kind, const uint8_t *o, size_t olen)
{
	switch (kind) {
	case SG_TCPOPT_MD5:
	case SG_TCPOPT_AO:
		return SG_OPT_SIGNED;
	case SG_TCPOPT_MPTCP:
		return SG_OPT_MPTCP;
	case SG_TCPOPT_FASTOPEN:
		return SG_OPT_FASTOPEN;
	case SG_TCPOPT_EXP:
		return olen >= 4 && sg_rd16(o + 2) == 0xf989 ? SG_OPT_FASTOPEN : 0;
	default:
		return 0;
	}
}

int sg_tcpopt_parse(const uint8_t *opts, size_t len, unsigned base,
                    struct sg_tcp_opts *out)
{
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	if (len > SG_TCPOPT_MAXLEN)
		return -EINVAL;

	/* Fast path: NOP NOP TS alone, what nearly every segment of an
	 * established Linux connection carries.  Same result as the walk. */
	if (len == 12 && sg_rd32(opts) == TS_ALIGNED_HDR) {
		out->present = SG_OPT_TS;
		out->tsval = sg_rd32(opts + 4);
		out->tsecr = sg_rd32(opts + 8);
		out->ts_off = (uint8_t)(base + 2);
		return 0;
	}
	/* Fast path: a Linux SYN, MSS | SACK-perm TS | NOP WS. */
	if (len == 20 && (sg_rd32(opts) >> 16) == SYN_MSS_HDR &&
	    sg_rd32(opts + 4) == SYN_SACKPERM_TS_HDR &&
	    (sg_rd32(opts + 16) >> 8) == SYN_WS_HDR) {
		out->present = SG_OPT_MSS | SG_OPT_SACKPERM | SG_OPT_TS | SG_OPT_WS;
		out->mss = sg_rd16(opts + 2);
		out->tsval = sg_rd32(opts + 8);
		out->tsecr = sg_rd32(opts + 12);
		out->wscale = opts[19];
		out->mss_off = (uint8_t)base;
		out->sackperm_off = (uint8_t)(base + 4);
		out->ts_off = (uint8_t)(base + 6);
		out->ws_off = (uint8_t)(base + 17);
		return 0;
	}

	while (i < len) {
		uint8_t kind = opts[i];

		if (kind == SG_TCPOPT_EOL)
			break;
		if (kind == SG_TCPOPT_NOP) {
			i++;
			continue;
		}
		/* Every other kind has a length byte that counts kind and length
		 * themselves (RFC 9293 §3.2): below 2 the walk could not advance. */
		if (len - i < 2)
			return -EINVAL;
		size_t olen = opts[i + 1];
		if (olen < 2 || olen > len - i)
			return -EINVAL;

		const uint8_t *o = opts + i;
		uint8_t off = (uint8_t)(base + i);
		switch (kind) {
		case SG_TCPOPT_MSS:
			if (olen != LEN_MSS)
				return -EINVAL;
			if (!(out->present & SG_OPT_MSS)) {
				out->present |= SG_OPT_MSS;
				out->mss = sg_rd16(o + 2);
				out->mss_off = off;
			}
			break;
		case SG_TCPOPT_WS:
			if (olen != LEN_WS)
				return -EINVAL;
			if (!(out->present & SG_OPT_WS)) {
				out->present |= SG_OPT_WS;
				out->wscale = o[2];
				out->ws_off = off;
			}
			break;
		case SG_TCPOPT_SACKPERM:
			if (olen != LEN_SACKPERM)
				return -EINVAL;
			if (!(out->present & SG_OPT_SACKPERM)) {
				out->present |= SG_OPT_SACKPERM;
				out->sackperm_off = off;
			}
			break;
		case SG_TCPOPT_TS:
			if (olen != LEN_TS)
				return -EINVAL;
			if (!(out->present & SG_OPT_TS)) {
				out->present |= SG_OPT_TS;
				out->tsval = sg_rd32(o + 2);
				out->tsecr = sg_rd32(o + 6);
				out->ts_off = off;
			}
			break;
		case SG_TCPOPT_SACK:
			/* RFC 2018 §3: 2 + 8n bytes, n blocks of left/right edges. */
			if (olen < 2 + LEN_SACK_BLK || (olen - 2) % LEN_SACK_BLK ||
			    (olen - 2) / LEN_SACK_BLK > SG_TCP_SACK_MAX)
				return -EINVAL;
			if (!(out->present & SG_OPT_SACK)) {
				out->present |= SG_OPT_SACK;
				out->sack_off = off;
				out->sack_blocks = (uint8_t)((olen - 2) / LEN_SACK_BLK);
			}
			break;
		default:
			/* Others are skipped by their length; some are noticed. */
			out->present |= unanswerable(kind, o, olen);
			break;
		}
		i += olen;
	}
	return 0;
}

/* Linux's layouts (tcp_options_write), each a multiple of 4 bytes:
 *
 *   MSS                    | 2 | 4 |    mss    |
 *   SACK-permitted + TS    | 4 | 2 | 8 | 10 | tsval | tsecr |
 *   TS without SACK-perm   | 1 | 1 | 8 | 10 | tsval | tsecr |
 *   WS                     | 1 | 3 | 3 | shift |
 *   SACK-perm without TS   | 1 | 1 | 4 | 2 |
 */
static size_t build_len(uint8_t present)
{
	size_t n = 0;

	if (present & SG_OPT_MSS)
		n += 4;
	if (present & SG_OPT_TS)
		n += 12;
	if (present & SG_OPT_WS)
		n += 4;
	if ((present & SG_OPT_SACKPERM) && !(present & SG_OPT_TS))
		n += 4;
	return n;
}

int sg_tcpopt_build_sum(uint8_t *buf, size_t cap, const struct sg_tcp_opts *o, uint64_t *sum)
{
	uint8_t present = o->present;
	size_t n = build_len(present);
	uint8_t *p = buf;

	if (n > cap)
		return -ENOSPC;

	if (present & SG_OPT_MSS) {
		sg_csum_put32(p, (uint32_t)SYN_MSS_HDR << 16 | o->mss, sum);
		p += 4;
	}
	if (present & SG_OPT_TS) {
		sg_csum_put32(p, (present & SG_OPT_SACKPERM) ? SYN_SACKPERM_TS_HDR : TS_ALIGNED_HDR, sum);
		sg_csum_put32(p + 4, o->tsval, sum);
		sg_csum_put32(p + 8, o->tsecr, sum);
		p += 12;
	}
	if (present & SG_OPT_WS) {
		sg_csum_put32(p, (uint32_t)SYN_WS_HDR << 8 | o->wscale, sum);
		p += 4;
	}
	if ((present & SG_OPT_SACKPERM) && !(present & SG_OPT_TS)) {
		sg_csum_put32(p, SACKPERM_ALIGNED_HDR, sum);
		p += 4;
	}
	return (int)(p - buf);
}

int sg_tcpopt_build(uint8_t *buf, size_t cap, const struct sg_tcp_opts *o)
{
	uint64_t unused = 0;

	return sg_tcpopt_build_sum(buf, cap, o, &unused);
}
