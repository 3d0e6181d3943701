/* Per-source quotas of connection-table entries: how many live proxied
 * connections one source prefix (a /32 or /64 by default) may hold, so
 * that one host that completes real handshakes cannot fill the table for
 * everybody else.
 *
 * Counts live in a count-min sketch per worker (two rows of counters
 * under a keyed hash, no keys stored): bounded memory whatever the number
 * of sources, and single-writer, because a worker counts the entries it
 * owns and only the owner inserts and frees them.  A sketch can only
 * overcount, when a prefix shares both its counters with heavier ones;
 * under a random key no source can choose to, and the chance for any one
 * prefix is about (live sources / SG_QUOTA_COLS)^2. */
#ifndef SG_CORE_QUOTA_H
#define SG_CORE_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

#include "core/flow.h"

#define SG_QUOTA_COLS     4096u   /* counters per row */
/* Entries a source may always hold, however small its share: a browser
 * opens a handful per host, an office behind one address many more. */
#define SG_QUOTA_MIN_LIMIT 64u
#define SG_QUOTA_KEY_BYTES 16

struct sg_quota;

/* prefix4 0..32, prefix6 0..128: the bits of the WAN address that make a
 * source. */
int  sg_quota_create(unsigned nworkers, unsigned prefix4, unsigned prefix6,
                     const uint8_t key[SG_QUOTA_KEY_BYTES], struct sg_quota **out);
void sg_quota_destroy(struct sg_quota *q);

/* Counts one more entry of k's source on worker's sketch, unless it holds
 * `limit` already: false then, and nothing is counted. */
bool sg_quota_take(struct sg_quota *q, unsigned worker, const struct sg_flow *k, uint32_t limit);

/* Gives back what sg_quota_take counted for k on the same worker. */
void sg_quota_give(struct sg_quota *q, unsigned worker, const struct sg_flow *k);

#endif
