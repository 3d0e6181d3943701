/* The counter sets' name functions (see counter_names.h). */
#include "daemon/counter_names.h"

#include "core/ct_config.h"
#include "core/halfopen.h"
#include "core/stats.h"
#include "daemon/worker.h"
#include "io/io.h"
#include "net/pkt.h"

const char *sg_cn_worker(unsigned i)
{
	return sg_worker_stat_name((enum sg_worker_stat)i);
}

const char *sg_cn_io(unsigned i)
{
	return sg_io_stat_name((enum sg_io_stat)i);
}

const char *sg_cn_proxy(unsigned i)
{
	return sg_stat_name((enum sg_stat)i);
}

const char *sg_cn_bad(unsigned i)
{
	return i == SG_BAD_NONE ? NULL : sg_bad_reason_name((enum sg_bad_reason)i);
}

const char *sg_cn_ct(unsigned i)
{
	return sg_ct_stat_name((enum sg_ct_stat)i);
}

const char *sg_cn_ct_state(unsigned i)
{
	return i == SG_CT_FREE ? NULL : sg_ct_state_name((enum sg_ct_state)i);
}

const char *sg_cn_halfopen(unsigned i)
{
	static const char *const names[SG_HALFOPEN_STAT__COUNT] = {
#define SG_CN_HALFOPEN(id, name) [SG_HALFOPEN_STAT_##id] = name,
		SG_HALFOPEN_STATS_LIST(SG_CN_HALFOPEN)
#undef SG_CN_HALFOPEN
	};

	return i < SG_HALFOPEN_STAT__COUNT ? names[i] : NULL;
}
