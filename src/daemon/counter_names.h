/* Each counter set's name function as the walkers take it (an index, not
 * the module's enum; NULL leaves an index out): the control socket's
 * snapshot (counters.c) and the /metrics exposition (metrics_render.c)
 * walk the same sets by the same names. */
#ifndef SG_DAEMON_COUNTER_NAMES_H
#define SG_DAEMON_COUNTER_NAMES_H

const char *sg_cn_worker(unsigned i);     /* SG_WORKER_STATS_LIST */
const char *sg_cn_io(unsigned i);         /* SG_IO_STATS_LIST */
const char *sg_cn_proxy(unsigned i);      /* SG_STATS_LIST */
const char *sg_cn_bad(unsigned i);        /* enum sg_bad_reason, without "none" */
const char *sg_cn_ct(unsigned i);         /* SG_CT_STATS_LIST */
const char *sg_cn_ct_state(unsigned i);   /* SG_CT_STATES, without "free" */
const char *sg_cn_halfopen(unsigned i);   /* SG_HALFOPEN_STATS_LIST */

#endif
