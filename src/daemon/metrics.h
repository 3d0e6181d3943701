/* The /metrics endpoint: an HTTP server (libmicrohttpd, in a thread of
 * its own) that answers GET /metrics with the exposition of the newest
 * snapshot the control thread published (metrics_render.h) and 404 to
 * anything else.  The workers take no part: the control thread copies
 * their counters once a second and publishes the copy; the snapshot is
 * swapped under a mutex the HTTP thread holds while it renders. */
#ifndef SG_DAEMON_METRICS_H
#define SG_DAEMON_METRICS_H

#include <stddef.h>

#include "daemon/metrics_render.h"

struct sg_metrics;

/* Listens on `listen` (hostport.h: "127.0.0.1:9477", "[::1]:9477") and
 * serves from a thread that first calls thread_init (the daemon:
 * sg_privs_drop_thread, so the server holds no capability; NULL: none).
 * Call it while the process may still bind where it was told.  0, or a
 * negative errno with "metrics.listen: ADDRESS: what failed" in err (a
 * port in use: -EADDRINUSE). */
int sg_metrics_start(struct sg_metrics **m, const char *listen, const char *version,
                     int (*thread_init)(void), char *err, size_t errlen);

/* The snapshot the control thread fills next: its own until published. */
struct sg_metrics_snap *sg_metrics_next(struct sg_metrics *m);

/* Makes the snapshot sg_metrics_next returned the one scrapes see. */
void sg_metrics_publish(struct sg_metrics *m);

/* Stops the server and frees m.  NULL is fine. */
void sg_metrics_stop(struct sg_metrics *m);

#endif
