/* Logging for the daemon: stderr (default, systemd-friendly) or syslog.
 * Never called per packet: the core counts, the control thread logs. */
#ifndef SG_DAEMON_LOG_H
#define SG_DAEMON_LOG_H

#include <stdbool.h>
#include <syslog.h>

enum sg_log_target { SG_LOG_STDERR = 0, SG_LOG_SYSLOG };

void sg_log_open(enum sg_log_target t, int level);
void sg_log_set_level(int level);       /* LOG_ERR .. LOG_DEBUG */
int  sg_log_level_parse(const char *s); /* "error".."debug"; -1 if unknown */
const char *sg_log_level_name(int level);
void sg_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Adapter for io's log callback. */
void sg_log_io(void *ctx, int level, const char *msg);

#endif
