/* The connection table's names, default configuration and its checks
 * (ct_config.h). */
#include <stddef.h>
#include <string.h>

#include "core/conntrack.h"
#include "core/ct_config.h"
#include "sg_limits.h"

static const char *const state_names[SG_CT_STATE_COUNT] = {
#define SG_CT_STATE_NAME(id, name) [SG_CT_##id] = name,
	SG_CT_STATES(SG_CT_STATE_NAME)
#undef SG_CT_STATE_NAME
};

static const char *const stat_names[SG_CT_STAT__COUNT] = {
#define SG_CT_STAT_NAME(id, name) [SG_CT_STAT_##id] = name,
	SG_CT_STATS_LIST(SG_CT_STAT_NAME)
#undef SG_CT_STAT_NAME
};

const char *sg_ct_stat_name(enum sg_ct_stat s)
{
	return (unsigned)s < SG_CT_STAT__COUNT ? stat_names[s] : "invalid";
}

const char *sg_ct_state_name(enum sg_ct_state s)
{
	return (unsigned)s < SG_CT_STATE_COUNT ? state_names[s] : "invalid";
}

void sg_ct_config_default(struct sg_ct_config *c)
{
	/* Long enough for a slow server and for idle interactive sessions;
	 * short for what is over (RST, TIME_WAIT). */
	memset(c, 0, sizeof(*c));
	c->capacity = SG_CT_DEFAULT_CAPACITY;
	c->timeout_s[SG_CT_SYN_SENT] = 240;
	c->timeout_s[SG_CT_UP_SYN_SENT] = 240;
	c->timeout_s[SG_CT_UP_SYN_RECV] = 240;
	c->timeout_s[SG_CT_ESTABLISHED] = 86400;
	c->timeout_s[SG_CT_FIN_WAIT] = 7440;
	c->timeout_s[SG_CT_CLOSING] = 240;
	c->timeout_s[SG_CT_TIME_WAIT] = 120;
	c->timeout_s[SG_CT_CLOSED] = 45;
	c->evict_idle_s = 600;
}

int sg_ct_config_check(const struct sg_ct_config *c, unsigned nworkers, struct sg_cfg_fault *why)
{
	if (nworkers < 1 || nworkers > SG_MAX_WORKERS)
		return sg_cfg_fail(why, SG_CFG_RANGE, SG_CFG_WORKERS);
	if (c->capacity < SG_CT_MIN_CAPACITY || c->capacity > SG_CT_MAX_CAPACITY)
		return sg_cfg_fail(why, SG_CFG_RANGE, offsetof(struct sg_ct_config, capacity));
	if (c->capacity / nworkers < SG_CT_MIN_CAPACITY / 2)
		return sg_cfg_fail(why, SG_CFG_PER_WORKER, offsetof(struct sg_ct_config, capacity));
	for (unsigned s = SG_CT_SYN_SENT; s < SG_CT_STATE_COUNT; s++)
		if (c->timeout_s[s] < SG_CT_MIN_TIMEOUT_S || c->timeout_s[s] > SG_CT_MAX_TIMEOUT_S)
			return sg_cfg_fail(why, SG_CFG_RANGE, offsetof(struct sg_ct_config, timeout_s[s]));
	if (c->evict_idle_s > SG_CT_MAX_TIMEOUT_S)
		return sg_cfg_fail(why, SG_CFG_RANGE, offsetof(struct sg_ct_config, evict_idle_s));
	return 0;
}

uint64_t sg_ct_config_bytes(const struct sg_ct_config *c)
{
	uint32_t cap = c->capacity < SG_CT_MIN_CAPACITY ? SG_CT_MIN_CAPACITY : c->capacity;
	uint64_t buckets = 1ull << (32u - (unsigned)__builtin_clz(cap - 1));

	return ((uint64_t)cap + 1) * sizeof(struct sg_conn) + buckets * sizeof(uint32_t);
}
