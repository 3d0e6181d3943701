/* The last destination a WAN SYN went to, and what was decided for it.
 * Private to src/core.
 *
 * A flood's SYNs go to one service: its policy rule and its learned
 * options are then looked up once per millisecond instead of once per SYN
 * (together, more than the rest of the SYN's defences).  A memo holds
 * while the millisecond, the configuration generation and the pins'
 * version are those it was made with, and the worker forgets it when it
 * learns something itself; so a reload or a pin applies from the next SYN,
 * and what another worker learns within a millisecond.
 */
#ifndef SG_CORE_DST_MEMO_H
#define SG_CORE_DST_MEMO_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/learn.h"

#define SG_DST_RULE  0x1      /* rule holds the destination's action */
#define SG_DST_LEARN 0x2      /* learned and srv hold sg_learn_lookup's answer */

struct sg_dst_memo {
	/* The key: address words as loaded (an IPv4 address alone in a0),
	 * family and port in one word, and what may change under it. */
	uint64_t a0, a1;
	uint64_t cfg_gen;
	uint32_t fam_port;        /* family << 16 | port; 0: nothing held */
	uint32_t pins_version;
	uint32_t now_ms;
	uint8_t  have;            /* SG_DST_* */
	uint8_t  rule;            /* enum sg_policy_action */
	bool     learned;
	struct sg_learned srv;
};

/* m, made current for family/addr/port at this time and generation: what
 * it held if it was for the same, else emptied for it. */
static inline struct sg_dst_memo *sg_dst_memo_at(struct sg_dst_memo *m, uint8_t family,
                                                 const uint8_t *addr, uint16_t port,
                                                 uint32_t now_ms, uint64_t cfg_gen,
                                                 uint32_t pins_version)
{
	uint32_t fp = (uint32_t)family << 16 | port;
	uint64_t a0 = 0, a1 = 0;

	if (family == 4) {
		uint32_t v4;

		memcpy(&v4, addr, 4);
		a0 = v4;
	} else {
		memcpy(&a0, addr, 8);
		memcpy(&a1, addr + 8, 8);
	}
	if (((m->a0 ^ a0) | (m->a1 ^ a1) | (m->cfg_gen ^ cfg_gen) | (m->fam_port ^ fp) |
	     (m->now_ms ^ now_ms) | (m->pins_version ^ pins_version)) == 0)
		return m;
	m->a0 = a0;
	m->a1 = a1;
	m->cfg_gen = cfg_gen;
	m->fam_port = fp;
	m->now_ms = now_ms;
	m->pins_version = pins_version;
	m->have = 0;
	return m;
}

static inline void sg_dst_memo_forget(struct sg_dst_memo *m)
{
	m->have = 0;
}

#endif
