/* Counter names (see stats.h). */
#include "core/stats.h"

static const char *const stat_names[SG_STAT__COUNT] = {
#define SG_STAT_NAME(id, name) [SG_STAT_##id] = name,
	SG_STATS_LIST(SG_STAT_NAME)
#undef SG_STAT_NAME
};

const char *sg_stat_name(enum sg_stat s)
{
	return (unsigned)s < SG_STAT__COUNT ? stat_names[s] : "invalid";
}

void sg_stats_add(struct sg_stats *dst, const struct sg_stats *src)
{
	for (unsigned i = 0; i < SG_STAT__COUNT; i++)
		dst->c[i] += src->c[i];
	for (unsigned i = 0; i < SG_BAD__COUNT; i++)
		dst->bad[i] += src->bad[i];
	for (unsigned i = 0; i <= SG_HS_HIST_BOUNDS; i++)
		dst->hs.bucket[i] += src->hs.bucket[i];
	dst->hs.sum_us += src->hs.sum_us;
}
