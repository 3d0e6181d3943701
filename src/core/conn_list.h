/* The connection list for the operator (synguardctl conns): a copy of
 * every live table entry, taken by the control thread while the workers
 * change the table.
 *
 * Why the reader copies the entries itself rather than asking the workers
 * to (at their next tick): a worker must never wait nor spend its time on
 * a listing, and an entry is changed by any worker, not only by its owner,
 * so even a worker's own walk would race with the others.  The reader
 * takes nothing and writes nothing: for each entry it loads the state
 * (acquire: sg_ct_insert publishes the key and record before it), copies
 * the whole entry in word loads, copies it again, and loads the state
 * again, with acquire fences in between.  A copy is kept only when the
 * state is the same and not FREE both times and the two copies' key and
 * record agree byte for byte; else it tries again a few times, then skips
 * the entry as torn.  The state alone is not enough: with one worker a
 * freed entry is reused at once (no other worker to wait for), possibly
 * in the same state, and a copy could mix the key of one connection with
 * the record of the one before (the unit test caught exactly that).  Two
 * equal copies leave only a tear that repeats itself byte for byte.  The
 * cost to the workers is only the cache lines the reader shares while it
 * reads them.
 */
#ifndef SG_CORE_CONN_LIST_H
#define SG_CORE_CONN_LIST_H

#include <stdbool.h>
#include <stdint.h>

#include "core/conntrack.h"
#include "core/proxy.h"

/* Copies up to n live entries, examining entries *cursor.. (start with
 * 1) and moving *cursor past what it examined; the walk is done when
 * *cursor > sg_ct_capacity(ct).  *torn (may be NULL) adds the entries
 * skipped because they changed while copied.  Any thread, lock-free. */
unsigned sg_ct_copy_live(const struct sg_ct *ct, uint32_t *cursor, struct sg_conn *out,
                         unsigned n, unsigned *torn);

/* One connection as the operator sees it. */
struct sg_conn_info {
	uint8_t  family;              /* 4 or 6 */
	uint8_t  wan_addr[16];        /* IPv4 in the first 4 bytes */
	uint8_t  lan_addr[16];
	uint16_t wan_port, lan_port;
	uint16_t vid[2];              /* 0: no tag */
	uint8_t  state;               /* enum sg_ct_state */
	uint8_t  owner;               /* the worker that owns the entry */
	bool     proxied;             /* opened from WAN through a cookie */
	bool     wan_opened;          /* the WAN host sent the SYN */
	uint32_t idle_ms;             /* since its last re-arm (a packet) */
	uint32_t expires_in_ms;
	uint32_t seq_offset, ts_offset;   /* proxied: SEQ and TSval shifts */
	uint16_t mss;                 /* proxied: the MSS sent to the server */
	uint8_t  client_ws, server_ws;    /* 0xf: no window scale */
	bool     sack, ts;            /* proxied: negotiated with the client */
};

/* sg_ct_copy_live over the proxy's table, each entry turned into a
 * sg_conn_info (times against now_ms, the core's millisecond clock). */
unsigned sg_proxy_conns(struct sg_proxy *p, uint32_t *cursor, uint32_t now_ms,
                        struct sg_conn_info *out, unsigned n, unsigned *torn);

#endif
