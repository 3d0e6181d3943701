/* Logging (see log.h). */
#include "daemon/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/io.h"

_Static_assert(SG_LOG_TRACE == SG_IO_LOG_TRACE, "one trace level for io and the daemon");

static enum sg_log_target target = SG_LOG_STDERR;
static enum sg_log_format format = SG_LOG_PLAIN;
static int max_level = LOG_INFO;

static const char *const names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
	[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug", [SG_LOG_TRACE] = "trace",
};

void sg_log_open(enum sg_log_target t, int level)
{
	target = t;
	max_level = level;
	if (t == SG_LOG_SYSLOG)
		openlog("synguard", LOG_PID, LOG_DAEMON);
	else
		format = sg_log_format_detect(STDERR_FILENO, getenv("JOURNAL_STREAM"));
}

void sg_log_set_level(int level)
{
	__atomic_store_n(&max_level, level, __ATOMIC_RELAXED);
}

int sg_log_level_parse(const char *s)
{
	for (int l = LOG_ERR; l <= SG_LOG_TRACE; l++)
		if (strcmp(s, names[l]) == 0)
			return l;
	return -1;
}

const char *sg_log_level_name(int level)
{
	return level >= LOG_EMERG && level <= SG_LOG_TRACE ? names[level] : "?";
}

enum sg_log_format sg_log_format_detect(int fd, const char *journal_stream)
{
	unsigned long long dev, ino;
	struct stat st;
	int end = 0;

	/* systemd sets JOURNAL_STREAM for stdout/stderr connected to the
	 * journal; a child with stderr redirected inherits it, hence the
	 * comparison with fd's own device and inode. */
	if (journal_stream && sscanf(journal_stream, "%llu:%llu%n", &dev, &ino, &end) == 2 &&
	    journal_stream[end] == '\0' && fstat(fd, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino)
		return SG_LOG_JOURNAL;
	return isatty(fd) ? SG_LOG_TTY : SG_LOG_PLAIN;
}

/* ISO 8601, local time, milliseconds and the offset as +HH:MM. */
static size_t timestamp(char *buf, size_t cap, const struct timespec *now)
{
	struct tm tm;
	char zone[8];
	size_t n;

	localtime_r(&now->tv_sec, &tm);
	n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!n || strftime(zone, sizeof(zone), "%z", &tm) != 5)
		return n;
	int l = snprintf(buf + n, cap - n, ".%03ld%.3s:%s ", now->tv_nsec / 1000000, zone, zone + 3);
	return l > 0 && (size_t)l < cap - n ? n + (size_t)l : n;
}

size_t sg_log_line(char *buf, size_t cap, enum sg_log_format f, int level,
                   const struct timespec *now, const char *msg)
{
	size_t n = 0;
	int l;

	if (cap < 2)
		return 0;
	if (f == SG_LOG_JOURNAL)
		l = snprintf(buf, cap, "<%d>%s: %s", level > LOG_DEBUG ? LOG_DEBUG : level,
		             sg_log_level_name(level), msg);
	else {
		if (f == SG_LOG_TTY)
			n = timestamp(buf, cap, now);
		l = snprintf(buf + n, cap - n, "synguard: %s: %s", sg_log_level_name(level), msg);
	}
	n += l < 0 ? 0 : (size_t)l;
	if (n > cap - 2)
		n = cap - 2;      /* cut: the newline still ends the line */
	buf[n++] = '\n';
	buf[n] = '\0';
	return n;
}

void sg_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > __atomic_load_n(&max_level, __ATOMIC_RELAXED))
		return;
	va_start(ap, fmt);
	if (target == SG_LOG_SYSLOG) {
		vsyslog(level > LOG_DEBUG ? LOG_DEBUG : level, fmt, ap);
	} else {
		char msg[1024], line[1200];
		struct timespec now = { 0, 0 };
		size_t n;

		vsnprintf(msg, sizeof(msg), fmt, ap);
		if (format == SG_LOG_TTY)
			clock_gettime(CLOCK_REALTIME, &now);
		n = sg_log_line(line, sizeof(line), format, level, &now, msg);
		/* One write per line so lines of two threads never interleave. */
		fwrite(line, 1, n, stderr);
	}
	va_end(ap);
}

void sg_log_block(int prio, const char *title, const char *block)
{
	if (format != SG_LOG_JOURNAL) {
		fprintf(stderr, "synguard: %s\n%s", title, block);
		return;
	}
	fprintf(stderr, "<%d>%s\n", prio, title);
	for (const char *l = block; *l;) {
		size_t n = strcspn(l, "\n");

		fprintf(stderr, "<%d>%.*s\n", prio, (int)n, l);
		l += n + (l[n] == '\n');
	}
}

void sg_log_io(void *ctx, int level, const char *msg)
{
	(void)ctx;
	sg_log(level, "%s", msg);
}
