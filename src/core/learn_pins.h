/* Operator pins of server options (learn.h: "Pinned"): fields pinned per
 * prefix, with or without a port, set by the control plane and read by
 * every lookup without a lock.
 *
 * Lookups read an open-addressing hash of (prefix, port) and, per family,
 * the prefix lengths in use, longest first, so a lookup probes once or
 * twice per length present rather than testing every pin.  There are two
 * such sets: the control plane (serialized by mu) builds the one lookups
 * are not using, then flips gen.
 *
 * learn.c embeds a table and hands it the hash key; this room knows
 * records (learn_rec.h) and nothing of learn.c.
 */
#ifndef SG_CORE_LEARN_PINS_H
#define SG_CORE_LEARN_PINS_H

#include <pthread.h>
#include <stdint.h>

#include "core/learn_rec.h"

#define SG_LEARN_PIN_SLOTS (2 * SG_LEARN_PINS_MAX)   /* at most half full */

struct sg_learn_pin_set {
	uint32_t n;
	uint8_t  nlen[2];                        /* [0] IPv4, [1] IPv6 */
	uint16_t len[2][129];                    /* plen | LEN_* */
	uint16_t slot[SG_LEARN_PIN_SLOTS];       /* 1 + index into pin, 0 empty */
	uint64_t pin[SG_LEARN_PINS_MAX][3];      /* a0, a1, key bits | record << 32 */
};

struct sg_learn_pins_table {
	/* Read by every lookup. */
	struct sg_learn_hkey hk;
	uint32_t gen;                            /* sets[gen & 1] is current */

	/* The control plane's: the pins as set, under mu. */
	pthread_mutex_t mu __attribute__((aligned(64)));
	unsigned ncur;
	struct sg_learn_pin cur[SG_LEARN_PINS_MAX];
	struct sg_learn_pin_set stage;

	struct sg_learn_pin_set sets[2] __attribute__((aligned(64)));
};

/* No pins; hk keys the hash of (prefix, port). */
void sg_learn_pins_init(struct sg_learn_pins_table *t, const struct sg_learn_hkey *hk);
void sg_learn_pins_destroy(struct sg_learn_pins_table *t);

/* The pinned record (learn_rec.h) for (a0, a1) of family v6 (SG_LEARN_K_V6 or 0)
 * and port: each field from the longest prefix that pins it; at one
 * length, a pin with the port before one without.  0: nothing pinned.
 * Lock-free, writes nothing. */
uint32_t sg_learn_pins_match(const struct sg_learn_pins_table *t, uint32_t v6, uint64_t a0,
                             uint64_t a1, uint16_t port);

/* sg_learn_set_pins, sg_learn_pin, sg_learn_unpin and sg_learn_pins of
 * learn.h, on t; same results. */
int sg_learn_pins_set(struct sg_learn_pins_table *t, const struct sg_learn_pin *pins, unsigned n);
int sg_learn_pins_add(struct sg_learn_pins_table *t, const struct sg_learn_pin *p);
int sg_learn_pins_remove(struct sg_learn_pins_table *t, const struct sg_learn_pin *p);
unsigned sg_learn_pins_copy(const struct sg_learn_pins_table *t, struct sg_learn_pin *out,
                            unsigned max);

#endif
