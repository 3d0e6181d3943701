/* SYN cookies: the proxy's SYN-ACK encodes the client's options and a MAC,
 * so a client's ACK can be verified with no state kept for its SYN.
 * Layouts, tables and their sources: docs/cookies.md.
 *
 * Sequence cookie (the ISN of the SYN-ACK), always:
 *
 *    31                               8   7   6   5       2   1   0
 *   +----------------------------------+---+---+-----------+-------+
 *   |          MAC (24 bits)           | E | S |    WS     |  MSS  |
 *   +----------------------------------+---+---+-----------+-------+
 *   E   epoch parity: which of the two live keys made it
 *   S   SACK-permitted
 *   WS  window scale 0..14 exactly; 15 = the client sent no WS option
 *   MSS index into the sequence MSS table (2 bits: up to 4 entries)
 *
 * Timestamp cookie (the TSval of the SYN-ACK), when the client sent TS:
 *
 *    31                                        8  7     5   4   3     0
 *   +-------------------------------------------+--------+---+--------+
 *   |   clock: milliseconds >> 8 (24 bits)      |MAC (3) |ECN|  MSS   |
 *   +-------------------------------------------+--------+---+--------+
 *   clock advances like a 4 Hz timestamp clock (RFC 7323 §5.4 allows
 *         1 ms .. 1 s per tick), so the TSvals a client sees look real
 *   ECN  the client asked for ECN (SYN with ECE and CWR, RFC 3168 §6.1.1)
 *   MSS  index into the finer timestamp MSS table (4 bits: up to 16)
 *
 * One SipHash-2-4 under the epoch's key covers both: the addresses, ports
 * and VLAN ids of the flow, the client's ISN, the epoch, the ISN's low 8
 * bits and, with TS, the TSval's low 5 bits and its clock.  Its output
 * gives the 24 ISN MAC bits and the 3 TS MAC bits: a forged ACK passes
 * with probability 2^-24 without TS and 2^-27 with it.
 *
 * Quantising: the decoded MSS is the largest table entry not above the
 * client's MSS; a client MSS below the smallest entry (the protocol floor,
 * 536 IPv4 / 1220 IPv6, that every host must accept: RFC 9293 §3.7.1,
 * RFC 8200 §5) maps to that smallest entry.  Window scale is carried
 * exactly; a value above 14 is taken as 14 (RFC 7323 §2.3).
 */
#ifndef SG_CORE_COOKIE_H
#define SG_CORE_COOKIE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/cfgcheck.h"
#include "core/flow.h"
#include "core/secret.h"
#include "net/pkt.h"
#include "net/tcpopt.h"

#define SG_COOKIE_ISN_MSS_MAX  4    /* entries: 2 bits */
#define SG_COOKIE_TS_MSS_MAX   16   /* entries: 4 bits */
#define SG_COOKIE_WS_NONE      15
#define SG_COOKIE_ISN_MAC_BITS 24
#define SG_COOKIE_TS_MAC_BITS  3

/* MSS tables per family: the ISN's coarse one, the timestamp's fine one.
 * Strictly ascending; the first entry is the family's floor or above. */
struct sg_cookie_config {
	uint16_t isn_mss[2][SG_COOKIE_ISN_MSS_MAX];   /* [0] IPv4, [1] IPv6 */
	uint8_t  isn_mss_n[2];
	uint16_t ts_mss[2][SG_COOKIE_TS_MSS_MAX];
	uint8_t  ts_mss_n[2];
};

void sg_cookie_config_default(struct sg_cookie_config *c);
/* 0 if valid, else -1 and *why: which table (offset in sg_cookie_config)
 * and the rule it breaks (count, floor as a range, order). */
int sg_cookie_config_check(const struct sg_cookie_config *c, struct sg_cfg_fault *why);

/* What a cookie says: the options synguard tells the server. */
struct sg_cookie_result {
	uint32_t isn;        /* make: the sequence cookie */
	uint32_t tsval;      /* make: the timestamp cookie (when ts) */
	uint16_t mss;
	uint8_t  wscale;     /* valid when has_ws */
	bool     has_ws, sack, ts, ecn;
};

/* Makes the cookies for a SYN: client options as parsed, ecn when the SYN
 * had ECE and CWR.  now_ns is the cookie clock. */
void sg_cookie_make(const struct sg_cookie_config *cfg, const struct sg_secret *s,
                    struct sg_secret_cache *cache, const struct sg_flow *f,
                    uint32_t client_isn, const struct sg_tcp_opts *opts, bool ecn,
                    uint64_t now_ns, struct sg_cookie_result *out);

/* sg_cookie_make in two steps, so that the MACs of many SYNs can run
 * together (sg_cookie_mac_n): prepare reads the clock and the options
 * into the MAC's input and what the result needs besides it; finish
 * reads the MAC.  prepare, then finish with sg_cookie_prep_mac or a MAC
 * of sg_cookie_mac_n, gives what sg_cookie_make gives. */
#define SG_COOKIE_MAC_WORDS 7
struct sg_cookie_prep {
	uint64_t w[SG_COOKIE_MAC_WORDS];     /* the MAC's input */
	/* The epoch's key, a copy: the cache may change its slot before the
	 * MAC is made. */
	struct sg_siphash_key key;
	uint32_t clock;
	uint16_t mss;
	uint8_t  nwords, isn_low, ts_low5, wscale;
	bool     ts, sack, ecn;
};

/* The cookie clock read once for many SYNs (a burst shares its time):
 * the epoch, its key, and the timestamp cookie's clock. */
struct sg_cookie_clock {
	uint64_t at_ns;                      /* the cookie clock it was read at */
	uint32_t epoch;
	uint32_t ts_clock;
	struct sg_siphash_key key;           /* a copy, as in sg_cookie_prep */
};
void sg_cookie_clock_read(const struct sg_secret *s, struct sg_secret_cache *cache,
                          uint64_t now_ns, struct sg_cookie_clock *ck);

void sg_cookie_prepare(const struct sg_cookie_config *cfg, const struct sg_cookie_clock *ck,
                       const struct sg_flow *f, uint32_t client_isn,
                       const struct sg_tcp_opts *opts, bool ecn, struct sg_cookie_prep *pr);
uint64_t sg_cookie_prep_mac(const struct sg_cookie_prep *pr);
/* mac[i] = sg_cookie_prep_mac(pr[i]) for i < n, four at a time where
 * inputs share a length and a key (siphash_x4.h). */
void sg_cookie_mac_n(const struct sg_cookie_prep *const pr[], unsigned n, uint64_t mac[]);
void sg_cookie_finish(const struct sg_cookie_prep *pr, uint64_t mac, struct sg_cookie_result *out);

/* Checks the ACK of a cookie SYN-ACK: client_isn = SEQ - 1, cookie =
 * ACK - 1, tsecr = the ACK's TSecr or NULL when it has no TS option.
 * Returns 0 and the decoded options, -EBADMSG for a wrong MAC or an
 * undecodable field, -ESTALE for a timestamp cookie older than two periods. */
int sg_cookie_check(const struct sg_cookie_config *cfg, const struct sg_secret *s,
                    struct sg_secret_cache *cache, const struct sg_flow *f,
                    uint32_t client_isn, uint32_t cookie, const uint32_t *tsecr,
                    uint64_t now_ns, struct sg_cookie_result *out);

#endif
