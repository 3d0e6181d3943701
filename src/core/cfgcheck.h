/* Why a configuration is refused, without words: the field (its offset in
 * the structure that was checked) and the rule it breaks.  The core names
 * no range in a message; the daemon's option table (daemon/config.c) is
 * the one place that states ranges, and it prints the message for the
 * option found at that offset. */
#ifndef SG_CORE_CFGCHECK_H
#define SG_CORE_CFGCHECK_H

#include <stddef.h>
#include <stdint.h>

enum sg_cfg_rule {
	SG_CFG_OK = 0,
	SG_CFG_RANGE,        /* the value is outside the option's range */
	SG_CFG_COUNT,        /* a list has too few or too many entries */
	SG_CFG_ORDER,        /* a list's entries must be strictly ascending */
	SG_CFG_PER_WORKER,   /* too small to give every worker a share */
};

/* off: offsetof the field in the structure checked, or SG_CFG_WORKERS
 * when the number of workers itself is out of range. */
struct sg_cfg_fault {
	enum sg_cfg_rule rule;
	size_t off;
};

#define SG_CFG_WORKERS SIZE_MAX

static inline int sg_cfg_fail(struct sg_cfg_fault *f, enum sg_cfg_rule rule, size_t off)
{
	f->rule = rule;
	f->off = off;
	return -1;
}

#endif
