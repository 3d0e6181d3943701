/* Logging for the daemon: stderr (default, systemd-friendly) or syslog.
 * Never called per packet: the core counts, the control thread logs.
 *
 * On stderr the format follows what reads it (sg_log_format_detect):
 *   journal   "<N>notice: message": N the syslog priority, which journald
 *             takes (sd-daemon(3)); the journal adds time and name itself;
 *             stderr is the journal when JOURNAL_STREAM names its device
 *             and inode (systemd.exec(5))
 *   terminal  "2026-11-23T10:11:12.345+01:00 synguard: notice: message"
 *   other     "synguard: notice: message" (a file, a pipe, a test)
 * Levels are syslog's plus SG_LOG_TRACE below LOG_DEBUG: the libraries'
 * loader chatter (libbpf, libxdp), written at priority debug. */
#ifndef SG_DAEMON_LOG_H
#define SG_DAEMON_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>
#include <time.h>

#define SG_LOG_TRACE (LOG_DEBUG + 1)   /* io.h's SG_IO_LOG_TRACE */

enum sg_log_target { SG_LOG_STDERR = 0, SG_LOG_SYSLOG };
enum sg_log_format { SG_LOG_PLAIN = 0, SG_LOG_JOURNAL, SG_LOG_TTY };

/* Opens the log; on stderr the format is detected once, here. */
void sg_log_open(enum sg_log_target t, int level);
void sg_log_set_level(int level);       /* LOG_ERR .. SG_LOG_TRACE */
int  sg_log_level_parse(const char *s); /* "error".."trace"; -1 if unknown */
const char *sg_log_level_name(int level);
void sg_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The format for lines written to fd: journal when journal_stream (the
 * value of JOURNAL_STREAM, "DEV:INODE" in decimal; NULL when unset) names
 * fd's file, else terminal when fd is one, else plain. */
enum sg_log_format sg_log_format_detect(int fd, const char *journal_stream);

/* One whole line, newline included, as the format writes it; now is
 * CLOCK_REALTIME (only the terminal format reads it).  The length
 * written (a message too long is cut, the line still ends in '\n'). */
size_t sg_log_line(char *buf, size_t cap, enum sg_log_format f, int level,
                   const struct timespec *now, const char *msg);

/* A title line and a block of lines (the final counters) on stderr,
 * whatever the level and target: plain "synguard: TITLE" then the block
 * as it is; to the journal, each line with prio's <N>. */
void sg_log_block(int prio, const char *title, const char *block);

/* Adapter for io's log callback. */
void sg_log_io(void *ctx, int level, const char *msg);

#endif
