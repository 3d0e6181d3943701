/* The control socket: a Unix stream socket, root-only, served by the
 * control thread (never by a worker).  One command per connection:
 *
 *   request  one line of words separated by blanks; a first word "-j"
 *            asks for JSON.  At most SG_CTL_LINE_MAX bytes and
 *            SG_CTL_ARGS_MAX words.
 *   reply    a first line with the command's exit status (0 ok, 1 failed,
 *            2 usage, as synguardctl(8) documents), then the body; the
 *            reply ends at EOF.  A command may keep the connection
 *            open after its reply and go on sending (capture: see
 *            struct sg_reply's keep).
 *
 * This file is the transport; what the words mean is ctl_cmds.c's. */
#ifndef SG_DAEMON_CTL_H
#define SG_DAEMON_CTL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where the daemon listens and synguardctl connects unless told. */
#define SG_CTL_DEFAULT_SOCKET "/run/synguard/ctl.sock"

#define SG_CTL_MAX_COUNTERS 256

struct sg_counter {
	char     name[48];
	uint64_t value;
};

/* Named counters summed over workers at one moment. */
struct sg_snapshot {
	unsigned n;
	uint64_t at_ns;
	struct sg_counter c[SG_CTL_MAX_COUNTERS];
};

/* 0; -ENOSPC when the snapshot is full, -ENAMETOOLONG when the name does
 * not fit (the counter is left out either way). */
int sg_snapshot_add(struct sg_snapshot *s, const char *name, uint64_t v);

/* The name of counter i of a set (its module's name function), or NULL
 * for an index that is not a counter (e.g. a "none" reason). */
typedef const char *(*sg_snapshot_name_fn)(unsigned i);

/* Adds a whole counter set, v[0..n), as prefix + name(i): each counter is
 * named once, by the module that counts it, and walked here.  0, or the
 * first error of sg_snapshot_add (the other counters are still added). */
int sg_snapshot_add_set(struct sg_snapshot *s, const char *prefix,
                        sg_snapshot_name_fn name, const uint64_t *v, unsigned n);

/* Writes the counters with their rate per second since prev (a snapshot
 * with the same names; NULL: no rates).  Returns the length, or -ENOSPC. */
int sg_ctl_format(char *buf, size_t cap, const struct sg_snapshot *cur,
                  const struct sg_snapshot *prev, bool json);

#define SG_CTL_LINE_MAX  1024
#define SG_CTL_ARGS_MAX  32
/* A reply grows up to this; a command that would say more is cut, and
 * its last line says so. */
#define SG_CTL_REPLY_MAX (8u << 20)

/* What a command answers.  Start zeroed; sg_ctl_serve frees it. */
struct sg_reply {
	char  *buf;
	size_t len, cap;
	int    status;       /* 0 ok, 1 failed, 2 usage */
	bool   truncated;    /* SG_CTL_REPLY_MAX reached */
	/* A command that goes on answering after its reply (capture) sets
	 * keep: the client's socket is handed to keep(keep_arg, fd) once the
	 * status and body are sent, instead of being closed; keep owns it
	 * then, and must not hold up the control thread with it. */
	void (*keep)(void *keep_arg, int fd);
	void  *keep_arg;
};

/* Appends to the body.  0, or -ENOSPC once the reply is full (it is then
 * marked truncated and keeps what fitted). */
int sg_reply_printf(struct sg_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Appends s as a JSON string, quoted and escaped (interface names may
 * hold any byte but '/' and blanks). */
int sg_reply_json_str(struct sg_reply *r, const char *s);

/* Sets the status (1 or 2) and appends "error: MESSAGE\n". */
void sg_reply_fail(struct sg_reply *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Answers one request: argv[0] is the command; json when the client
 * asked for JSON. */
typedef void (*sg_ctl_handler)(void *ctx, int argc, char **argv, bool json,
                               struct sg_reply *r);

struct sg_ctl;

/* Creates the socket (its directory 0700 if missing, the socket 0600)
 * and holds PATH.lock while it is open.  -EBUSY: another live daemon
 * serves PATH; -EPERM: the directory is not ours alone (rundir.h). */
int  sg_ctl_open(struct sg_ctl **ctl, const char *path, char *err, size_t errlen);
int  sg_ctl_fd(const struct sg_ctl *ctl);
/* Accepts one client, reads its line and answers it with handler. */
void sg_ctl_serve(struct sg_ctl *ctl, sg_ctl_handler handler, void *ctx);
void sg_ctl_close(struct sg_ctl *ctl);

#endif
