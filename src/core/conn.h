/* The proxy's record of one connection, and the transitions that must
 * follow the table's lock and fence rules.  Private to src/core.
 *
 * The record lives in the payload of its table entry (conntrack.h).  Who
 * writes what, with N workers reading the same entry:
 * - a new entry's record is written before sg_ct_insert publishes it;
 * - a record changed later (a replaced closing entry, the server's answer,
 *   a FIN) is changed under the entry's lock (sg_ct_lock), and what other
 *   workers must see together with a state is written before the state
 *   change, which publishes it (sg_ct_set_state stores with release);
 * - readers take the state with sg_conn_state(), whose acquire fence makes
 *   everything published before that state visible.
 * Only the functions below change a record after publication; the rest of
 * the core reads it.
 *
 * Sequence spaces.  The client's own ISN goes to the server unchanged, so
 * client->server SEQ and server->client ACK never change.  The server's
 * sequence numbers differ from the cookie ISN the client knows by
 * seq_offset = cookie ISN - server ISN: server->client SEQ += seq_offset;
 * client->server ACK and SACK edges -= seq_offset.  Timestamps likewise:
 * ts_offset = synguard's TSval (the TS cookie) - the server's first TSval.
 */
#ifndef SG_CORE_CONN_H
#define SG_CORE_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/conntrack.h"
#include "core/stats.h"
#include "net/pkt.h"
#include "net/tcpopt.h"

#define SG_WS_NONE 0xf           /* no window scale option */

/* struct sg_conn_rec.flags */
#define SG_CONN_PROXIED      0x01   /* opened from WAN through a cookie */
#define SG_CONN_CLIENT_SACK  0x02   /* client and server were told SACK-permitted */
#define SG_CONN_CLIENT_TS    0x04   /* the client uses timestamps */
#define SG_CONN_SERVER_SACK  0x08
#define SG_CONN_SERVER_TS    0x10
#define SG_CONN_FIN_WAN      0x20   /* FIN seen from that side */
#define SG_CONN_FIN_LAN      0x40
#define SG_CONN_LAST_FIN_LAN 0x80   /* the later FIN came from LAN */

/* struct sg_conn_rec.seen: what of each side's sequence space is known.
 * A side's numbers are anchored by the first segment seen from it, never
 * by a zeroed field: ISNs cover the whole 32-bit space. */
#define SG_SEEN_END_WAN   0x01   /* max_end[WAN] holds a real value */
#define SG_SEEN_END_LAN   0x02
#define SG_SEEN_WIN_WAN   0x04   /* redge[WAN] holds a real value */
#define SG_SEEN_WIN_LAN   0x08
#define SG_SEEN_NO_SCALE  0x10   /* picked up mid-stream: window scales unknown */
#define SG_SEEN_COUNTED   0x20   /* counted against its source's quota */
#define SG_SEEN_OPENED_WAN 0x40  /* tracked, and the WAN host sent the SYN */

/* A direction, as an index of max_end / redge: who sent the segment. */
enum sg_dir {
	SG_DIR_WAN = 0,
	SG_DIR_LAN = 1,
};

struct sg_conn_rec {
	uint32_t seq_offset;     /* cookie ISN - server ISN (the cookie ISN
	                            itself while waiting for the server) */
	uint32_t ts_offset;      /* synguard's TSval - server's TSval (the TS
	                            cookie itself while waiting) */
	uint32_t client_isn;
	uint32_t client_tsval;   /* for SYN retransmits */
	uint32_t max_end[2];     /* by enum sg_dir: the highest SEQ + length (+1
	                            for SYN, FIN) a side sent in its window;
	                            after its FIN, FIN + 1, which never moves */
	union {
		uint32_t redge[2];   /* the right edge of a side's receive window:
		                        the highest ACK + scaled window it sent */
		/* Nothing reads redge before the server's SYN-ACK anchors it
		 * (SG_SEEN_WIN_*), so until then a proxied connection keeps
		 * there when its cookie ACK opened it (the worker's now_us),
		 * for the handshake time; sg_conn_establish hands it out. */
		struct {
			uint32_t unused;
			uint32_t opened_us;
		} hs;
	};
	uint16_t client_win;     /* the client's window in its cookie ACK */
	uint16_t mss;            /* sent to the server */
	uint8_t  client_ws;      /* told to the server; SG_WS_NONE: none */
	uint8_t  server_ws;      /* SG_WS_NONE: none */
	uint8_t  our_ws;         /* offered to the client in the SYN-ACK */
	uint8_t  flags;          /* SG_CONN_* */
	uint8_t  retries;        /* SYN retransmits so far (owner only) */
	uint8_t  nvlan;
	uint8_t  seen;           /* SG_SEEN_* */
	uint8_t  wan_mac[6];
	uint8_t  lan_mac[6];
	uint8_t  shifts;         /* window shift of WAN (low nibble) and LAN side,
	                            see sg_conn_shift */
	uint16_t vlan_tpid[2];
	uint16_t vlan_tci[2];
};

_Static_assert(sizeof(struct sg_conn_rec) <= SG_CT_PAYLOAD_BYTES,
               "the record must fit in a table entry's payload");

static inline struct sg_conn_rec *sg_conn_rec(struct sg_conn *c)
{
	return (struct sg_conn_rec *)(void *)c->payload;
}

static inline const struct sg_conn_rec *sg_conn_rec_c(const struct sg_conn *c)
{
	return (const struct sg_conn_rec *)(const void *)c->payload;
}

/* The entry's state, and (acquire) every record field published with it. */
static inline enum sg_ct_state sg_conn_state(const struct sg_conn *c)
{
	return c ? sg_ct_state_acquire(c) : SG_CT_FREE;
}

/* The tracking fields (max_end, redge, seen) of a published record are
 * written by whichever worker sees each direction, without the lock:
 * whole-word relaxed atomics (plain moves on x86), and a bit set with an
 * atomic OR so that two directions anchoring at once lose neither. */
static inline uint32_t sg_conn_rd(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void sg_conn_wr(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline uint8_t sg_conn_seen(const struct sg_conn_rec *r)
{
	return __atomic_load_n(&r->seen, __ATOMIC_RELAXED);
}

static inline void sg_conn_see(struct sg_conn_rec *r, uint8_t bits)
{
	__atomic_fetch_or(&r->seen, bits, __ATOMIC_RELAXED);
}

static inline uint8_t sg_conn_flags(const struct sg_conn_rec *r)
{
	return __atomic_load_n(&r->flags, __ATOMIC_RELAXED);
}

static inline bool sg_seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

/* ---- windows ---- */

/* The window a receiver that shifts by to_shift must see for the window
 * a sender shifting by from_shift advertised.  Never turns an open window
 * into zero: that would stall the sender until its persist timer. */
static inline uint16_t sg_window_convert(uint16_t win, unsigned from_shift, unsigned to_shift)
{
	uint32_t real = (uint32_t)win << from_shift;
	uint32_t v = real >> to_shift;

	if (v > 0xffff)
		v = 0xffff;
	if (v == 0 && win)
		v = 1;
	return (uint16_t)v;
}

/* Scaling is in force on the client side when the client sent WS (and was
 * then offered WS by the cookie SYN-ACK); on the server side when, in
 * addition, the server answered with WS (RFC 7323 §2.2). */
static inline unsigned sg_conn_client_shift(const struct sg_conn_rec *r)
{
	return r->client_ws == SG_WS_NONE ? 0 : r->client_ws;
}

static inline unsigned sg_conn_shift_to_client(const struct sg_conn_rec *r)
{
	return r->client_ws == SG_WS_NONE ? 0 : r->our_ws;
}

static inline bool sg_conn_server_scaling(const struct sg_conn_rec *r)
{
	return r->client_ws != SG_WS_NONE && r->server_ws != SG_WS_NONE;
}

/* The shift of the windows side d advertises, as far as synguard knows
 * (kept in `shifts` by sg_conn_learn_shifts, read on every segment).  A
 * caller that needs both sides loads `shifts` once (sg_conn_shifts) and
 * picks with sg_conn_shift_in: two relaxed loads of one byte are two
 * loads, the compiler may not merge them. */
static inline uint8_t sg_conn_shifts(const struct sg_conn_rec *r)
{
	return __atomic_load_n(&r->shifts, __ATOMIC_RELAXED);
}

static inline unsigned sg_conn_shift_in(uint8_t shifts, enum sg_dir d)
{
	return (shifts >> (4 * d)) & 0xf;
}

static inline unsigned sg_conn_shift(const struct sg_conn_rec *r, enum sg_dir d)
{
	return sg_conn_shift_in(sg_conn_shifts(r), d);
}

/* Sets `shifts` once the scales are known: for a proxied connection the
 * scales it negotiated with each side; for a tracked one the scales of
 * the handshake it saw, the largest possible when it saw none (so no
 * window it checks is ever too small). */
static inline void sg_conn_learn_shifts(struct sg_conn_rec *r)
{
	unsigned wan, lan;

	if (r->flags & SG_CONN_PROXIED) {
		wan = sg_conn_client_shift(r);
		lan = sg_conn_server_scaling(r) ? r->server_ws : 0;
	} else if (r->seen & SG_SEEN_NO_SCALE) {
		wan = lan = SG_TCP_WSCALE_MAX;
	} else if (r->client_ws == SG_WS_NONE || r->server_ws == SG_WS_NONE) {
		wan = lan = 0;
	} else {
		wan = r->client_ws;
		lan = r->server_ws;
	}
	__atomic_store_n(&r->shifts, (uint8_t)(wan | lan << 4), __ATOMIC_RELAXED);
}

/* A window the client sent, as the server must see it. */
static inline uint16_t sg_conn_win_c2s(const struct sg_conn_rec *r, uint16_t win)
{
	return sg_window_convert(win, sg_conn_client_shift(r),
	                         sg_conn_server_scaling(r) ? r->client_ws : 0);
}

/* A window the server sent, as the client must see it. */
static inline uint16_t sg_conn_win_s2c(const struct sg_conn_rec *r, uint16_t win)
{
	return sg_window_convert(win, sg_conn_server_scaling(r) ? r->server_ws : 0,
	                         sg_conn_shift_to_client(r));
}

/* ---- transitions ---- */

/* A connection a valid cookie ACK opens, in SYN_SENT with record *init:
 * a new entry, or `old` (a closing entry on the same tuple, which gives
 * way to the new connection).  0 and *out, or -EEXIST (another worker
 * opened it first), -ENOSPC (the worker's table slice is full), -ESTALE
 * (old was freed meanwhile). */
int sg_conn_open_proxied(struct sg_ct *ct, unsigned worker, const struct sg_flow *k,
                         uint32_t hash, struct sg_conn *old, const struct sg_conn_rec *init,
                         uint32_t now_ms, struct sg_conn **out);

/* A connection seen from LAN (a LAN host's SYN, or mid-stream after a
 * restart), tracked but not proxied, in `state` with record *init: a new
 * entry, or `old` (closing) reset.  Returns the entry, or NULL when the
 * table is full; *opened is false when it is another worker's, inserted
 * first, which the caller then only joins. */
struct sg_conn *sg_conn_open_tracked(struct sg_ct *ct, unsigned worker, const struct sg_flow *k,
                                     uint32_t hash, struct sg_conn *old, enum sg_ct_state state,
                                     const struct sg_conn_rec *init, uint32_t now_ms,
                                     bool *opened);

/* UP_SYN_SENT -> UP_SYN_RECV on a tracked connection: side `from`
 * answered the opener's SYN with window scale ws (SG_WS_NONE: none). */
void sg_conn_tracked_answered(struct sg_ct *ct, unsigned worker, struct sg_conn *c,
                              enum sg_dir from, uint8_t ws, uint32_t now_ms);

/* What the server's SYN-ACK tells about the server. */
struct sg_conn_server {
	uint32_t isn;
	uint32_t tsval;
	uint16_t win;            /* its SYN-ACK's window (never scaled) */
	uint8_t  ws;             /* SG_WS_NONE: none */
	bool     sack, ts;
};

/* SYN_SENT -> ESTABLISHED on the server's SYN-ACK: the offsets are
 * computed and published before the state.  *cookie_isn and *ts_cookie
 * receive the values the client knows, *opened_us when the cookie ACK
 * opened it (hs.opened_us, gone once the windows are anchored).
 * -EALREADY when another worker handled a copy of the SYN-ACK first. */
int sg_conn_establish(struct sg_ct *ct, unsigned worker, struct sg_conn *c,
                      const struct sg_conn_server *srv, uint32_t now_ms,
                      uint32_t *cookie_isn, uint32_t *ts_cookie, uint32_t *opened_us);

/* Any state -> CLOSED: a RST was accepted, or the server refused. */
void sg_conn_close(struct sg_ct *ct, unsigned worker, struct sg_conn *c, uint32_t now_ms);

/* The FIN and RST rules of one segment p sent by `dir` (SEQ in the
 * sender's own space, ACK in the receiver's), RFC 5961 in spirit.  Only a
 * segment with a valid checksum changes state.  A RST within rst_slack of
 * the sender's next sequence closes; another RST in the receiver's window
 * is answered with a challenge ACK (*challenge set: the caller emits it)
 * and dropped; the rest are dropped.  A FIN in the window is recorded
 * (FIN_WAIT, CLOSING) and must not move when retransmitted.  The ACK of
 * the later FIN ends the closing (TIME_WAIT).  Returns true to pass the
 * segment on; false to drop it, with the counter of the reason in *why. */
bool sg_conn_fin_rst(struct sg_ct *ct, unsigned worker, struct sg_conn *c,
                     const struct sg_pkt *p, enum sg_dir dir, uint16_t rst_slack,
                     uint32_t now_ms, enum sg_stat *why, bool *challenge);
void sg_conn_closing_ack(struct sg_ct *ct, unsigned worker, struct sg_conn *c,
                         const struct sg_pkt *p, enum sg_dir dir, uint32_t now_ms);

/* Inline, as every segment of a live connection passes here. */
static inline bool sg_conn_close_rules(struct sg_ct *ct, unsigned worker, struct sg_conn *c,
                                       const struct sg_pkt *p, enum sg_dir dir, uint16_t rst_slack,
                                       uint32_t now_ms, enum sg_stat *why, bool *challenge)
{
	*challenge = false;
	if (__builtin_expect(p->tcp_flags & (SG_TCP_RST | SG_TCP_FIN), 0))
		return sg_conn_fin_rst(ct, worker, c, p, dir, rst_slack, now_ms, why, challenge);
	if (__builtin_expect(sg_ct_state_get(c) == SG_CT_CLOSING, 0))
		sg_conn_closing_ack(ct, worker, c, p, dir, now_ms);
	return true;
}

/* The first segments of each side, from the handshake synguard made or
 * saw: anchors a side's sequence (isn + 1) and, when known, its window
 * edge (ack + win, the SYN's window is never scaled). */
void sg_conn_anchor(struct sg_conn_rec *r, enum sg_dir dir, uint32_t isn);
void sg_conn_anchor_window(struct sg_conn_rec *r, enum sg_dir dir, uint32_t ack, uint32_t win_bytes);

/* sg_conn_observe for a record that lacks one of the numbers it uses. */
void sg_conn_observe_first(struct sg_conn *c, enum sg_dir dir, const struct sg_pkt *p);

/* Learns from a segment sent by `dir` that passed the rules: the sender's
 * highest sequence (only within the receiver's window, so a blind
 * segment cannot walk it) and, from its ACK and window, the right edge of
 * the sender's own receive window (only for an ACK of what the other side
 * sent).  The first segment of a side anchors its numbers.  Always
 * inlined: every segment of a live connection passes here, and as the
 * call the compiler chose to make it cost 14 instructions of 57.
 *
 * The fields are read and written with relaxed atomics (conn.h, top):
 * plain moves on x86, no fence.  No ordering is needed between them: each
 * value is checked on its own against the segment (a stale max_end or
 * redge only narrows or widens the window test by what another worker
 * saw meanwhile, as if its segment came a moment later); the atomics are
 * there so a concurrent store is never torn and TSan sees the race as
 * intended.  seen and shifts are loaded once each. */
static inline __attribute__((always_inline))
void sg_conn_observe(struct sg_conn *c, enum sg_dir dir, const struct sg_pkt *p)
{
	struct sg_conn_rec *r = sg_conn_rec(c);
	enum sg_dir to = (enum sg_dir)(dir ^ 1);
	const uint8_t need = SG_SEEN_END_WAN | SG_SEEN_END_LAN | SG_SEEN_WIN_WAN | SG_SEEN_WIN_LAN;
	/* FIN is 0x01 and SYN 0x02 (RFC 9293): each counts one. */
	uint32_t end = p->seq + p->payload_len + (p->tcp_flags & SG_TCP_FIN) +
	               ((p->tcp_flags & SG_TCP_SYN) >> 1);
	uint32_t lo, hi, mine;
	uint8_t shifts;

	if (__builtin_expect((sg_conn_seen(r) & need) != need, 0)) {
		sg_conn_observe_first(c, dir, p);
		return;
	}
	shifts = sg_conn_shifts(r);
	mine = sg_conn_rd(&r->max_end[dir]);
	lo = mine - (0xffffu << sg_conn_shift_in(shifts, to));
	hi = sg_conn_rd(&r->redge[to]) + 1;   /* one beyond: a zero-window probe */
	if (end - lo > hi - lo)
		return;
	if (sg_seq_after(end, mine) && !(sg_conn_flags(r) & (SG_CONN_FIN_WAN << dir)))
		sg_conn_wr(&r->max_end[dir], end);
	if ((p->tcp_flags & SG_TCP_ACK) &&
	    sg_conn_rd(&r->max_end[to]) - p->ack <= (0xffffu << sg_conn_shift_in(shifts, dir))) {
		unsigned shift = (p->tcp_flags & SG_TCP_SYN) ? 0 : sg_conn_shift_in(shifts, dir);
		uint32_t edge = p->ack + ((uint32_t)p->win << shift);

		if (sg_seq_after(edge, sg_conn_rd(&r->redge[dir])))
			sg_conn_wr(&r->redge[dir], edge);
	}
}

#endif
