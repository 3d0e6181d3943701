/* The keys behind SYN cookies.
 *
 * Time is cut into epochs of `period` seconds; epoch e has its own 128-bit
 * SipHash key, key(e) = BLAKE2b-KDF(master, e) (libsodium crypto_kdf).  A
 * cookie made in epoch e is accepted during e and e+1, so it lives between
 * one and two periods: two keys are live at any time and the older one
 * "rotates out" as the clock crosses an epoch boundary.  Nobody has to
 * rotate anything: every worker derives the two keys it needs from the
 * read-only master and caches them (struct sg_secret_cache), so reading a
 * key needs no lock and no shared write.
 *
 * The master comes from the caller: random by default (the proxy derives
 * it from the seed it is given), or read by the daemon from a key file
 * (daemon/keyfile.h), the same on several synguard boxes, which then
 * accept each other's cookies (ECMP, HA pairs) without talking, provided
 * they agree on the epoch: the daemon then feeds the cookie clock from
 * CLOCK_REALTIME (see sg_proxy_set_cookie_clock) and the boxes keep NTP
 * time.
 */
#ifndef SG_CORE_SECRET_H
#define SG_CORE_SECRET_H

#include <stddef.h>
#include <stdint.h>

#include "core/siphash.h"

#define SG_SECRET_MASTER_BYTES    32
#define SG_SECRET_DEFAULT_PERIOD_S 32    /* cookies live 32..64 s */
#define SG_SECRET_MIN_PERIOD_S     4
#define SG_SECRET_MAX_PERIOD_S     3600

struct sg_secret;

/* Per-worker cache of the two live keys. Zero-initialise it. */
struct sg_secret_cache {
	uint32_t epoch[2];
	uint8_t  valid[2];
	struct sg_siphash_key key[2];
};

/* master: SG_SECRET_MASTER_BYTES bytes. */
int  sg_secret_create(const uint8_t *master, uint32_t period_s, struct sg_secret **out);
void sg_secret_destroy(struct sg_secret *s);

/* The epoch of a time in nanoseconds on the cookie clock. */
uint32_t sg_secret_epoch(const struct sg_secret *s, uint64_t now_ns);
uint32_t sg_secret_period_s(const struct sg_secret *s);

/* The key of `epoch`, from the cache or derived into it. */
const struct sg_siphash_key *sg_secret_key(const struct sg_secret *s,
                                           struct sg_secret_cache *c, uint32_t epoch);

#endif
