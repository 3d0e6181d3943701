/* Logging (see log.h). */
#include "daemon/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum sg_log_target target = SG_LOG_STDERR;
static int max_level = LOG_INFO;

static const char *const names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
	[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

void sg_log_open(enum sg_log_target t, int level)
{
	target = t;
	max_level = level;
	if (t == SG_LOG_SYSLOG)
		openlog("synguard", LOG_PID, LOG_DAEMON);
}

void sg_log_set_level(int level)
{
	__atomic_store_n(&max_level, level, __ATOMIC_RELAXED);
}

int sg_log_level_parse(const char *s)
{
	for (int l = LOG_ERR; l <= LOG_DEBUG; l++)
		if (strcmp(s, names[l]) == 0)
			return l;
	return -1;
}

const char *sg_log_level_name(int level)
{
	return level >= LOG_EMERG && level <= LOG_DEBUG ? names[level] : "?";
}

void sg_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > __atomic_load_n(&max_level, __ATOMIC_RELAXED))
		return;
	va_start(ap, fmt);
	if (target == SG_LOG_SYSLOG) {
		vsyslog(level, fmt, ap);
	} else {
		char msg[1024];

		vsnprintf(msg, sizeof(msg), fmt, ap);
		/* One write per line so lines of two threads never interleave. */
		fprintf(stderr, "synguard: %s: %s\n", sg_log_level_name(level), msg);
	}
	va_end(ap);
}

void sg_log_io(void *ctx, int level, const char *msg)
{
	(void)ctx;
	sg_log(level, "%s", msg);
}
