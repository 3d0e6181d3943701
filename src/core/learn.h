/* What the servers behind synguard support, so a cookie SYN-ACK offers
 * what the server will do: the MSS, window scale, SACK and timestamps its
 * handshakes showed, per server (address, port) and per address.
 *
 * Learned: every note (a proxied connection's server SYN-ACK, a LAN
 * host's own SYN) updates the record of (address, port) and that of the
 * address.  A note says only what it knows (`known`): a SYN-ACK without
 * SACK-permitted says the server refuses SACK only when the SYN it answers
 * offered SACK, so the caller leaves out what its SYN did not offer.  A
 * record lives `ttl_s` from its first note, then is learned afresh:
 * otherwise a refusal learned once would be kept for ever, since synguard
 * stops offering what a record says the server refuses.
 *
 * Pinned: an operator pins fields per prefix, with or without a port.
 *
 * A lookup takes each field from the most specific source that knows it:
 * pins by prefix length, longest first, a pin with a port before one
 * without at the same length; then the learned (address, port); then the
 * learned address.
 *
 * Bounded: `entries` records fixed at create, in buckets of SG_LEARN_WAYS
 * under a keyed hash (no source can aim at a bucket); a new record takes
 * a free or expired slot of its bucket, else evicts the one born first.
 * SG_LEARN_PINS_MAX pins.
 *
 * Concurrency: lookups (every WAN SYN, any worker) take no lock and
 * write nothing shared; a record changing under a lookup reads as absent,
 * never as a mix of two notes.  Notes (any worker) that bring nothing new
 * write nothing; others take their bucket's lock with a try, and a note
 * that finds it taken is dropped, since the next handshake brings the
 * same news: no worker ever waits for another.  Pins are changed by the
 * control plane (serialized inside) and published whole.
 */
#ifndef SG_CORE_LEARN_H
#define SG_CORE_LEARN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/cfgcheck.h"
#include "core/learn_pins.h"   /* the pins; learn_rec.h: struct sg_learned, sg_learn_pin */

#define SG_LEARN_WAYS        4           /* slots a key may take: the probe bound */
#define SG_LEARN_MIN_ENTRIES SG_LEARN_WAYS
#define SG_LEARN_MAX_ENTRIES (1u << 20)  /* 32 bytes each */
#define SG_LEARN_MIN_TTL_S   1
#define SG_LEARN_MAX_TTL_S   86400u      /* ms in 32 bits, wrap-safe */
#define SG_LEARN_KEY_BYTES   16

struct sg_learn;

struct sg_learn_config {
	uint32_t entries;   /* records, rounded up to a power of two */
	uint32_t ttl_s;     /* a record's life from its first note */
};

void sg_learn_config_default(struct sg_learn_config *c);
/* 0 if valid, else -1 and *why names the field (offset in sg_learn_config). */
int  sg_learn_config_check(const struct sg_learn_config *c, struct sg_cfg_fault *why);

/* key: random bytes for the hash (-EINVAL for a bad config, -ENOMEM). */
int  sg_learn_create(const struct sg_learn_config *c, const uint8_t key[SG_LEARN_KEY_BYTES],
                     struct sg_learn **out);
void sg_learn_destroy(struct sg_learn *l);

/* addr: 4 bytes for IPv4, 16 for IPv6 (family 4 or 6), the LAN host's;
 * port in host order, 0 for the address alone.  Never allocates. */
void sg_learn_note(struct sg_learn *l, uint8_t family, const uint8_t *addr, uint16_t port,
                   const struct sg_learned *seen, uint32_t now_ms);

/* What to offer for a SYN to (addr, port): false (and out->known 0) when
 * nothing is known.  Lock-free, writes nothing shared. */
bool sg_learn_lookup(const struct sg_learn *l, uint8_t family, const uint8_t *addr,
                     uint16_t port, uint32_t now_ms, struct sg_learned *out);

/* Replaces every pin (the configuration file).  -EINVAL: a bad pin (family,
 * plen, no field, a pinned MSS under the family's floor, WS above 15) or two
 * for one (family, prefix, port); -ENOSPC: more than SG_LEARN_PINS_MAX.
 * Nothing changes on error. */
int sg_learn_set_pins(struct sg_learn *l, const struct sg_learn_pin *pins, unsigned n);
/* Adds a pin or replaces the one for its (family, prefix, port) (the
 * control socket): 0, -EINVAL, -ENOSPC. */
int sg_learn_pin(struct sg_learn *l, const struct sg_learn_pin *p);
/* Removes the pin for p's (family, prefix, port); opts unread: 0, -ENOENT. */
int sg_learn_unpin(struct sg_learn *l, const struct sg_learn_pin *p);
/* Copies up to max pins, in the order they were set; returns how many
 * there are. */
unsigned sg_learn_pins(const struct sg_learn *l, struct sg_learn_pin *out, unsigned max);

/* Records in use (expired ones until a note sweeps them). */
uint32_t sg_learn_count(const struct sg_learn *l);

/* Moves on with every change of the pins: a cached answer of a lookup
 * made at another version may be stale. */
uint32_t sg_learn_pins_version(const struct sg_learn *l);

#endif
