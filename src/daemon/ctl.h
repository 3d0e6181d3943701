/* The control socket: a Unix stream socket, root-only, served by the
 * control thread (never by a worker).  One command per connection, one
 * line: "stats" (text) or "stats json"; the reply ends at EOF. */
#ifndef SG_DAEMON_CTL_H
#define SG_DAEMON_CTL_H

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

struct sg_ctl;

/* Creates the socket (its directory 0700 if missing, the socket 0600)
 * and holds PATH.lock while it is open.  -EBUSY: another live daemon
 * serves PATH; -EPERM: the directory is not ours alone (rundir.h). */
int  sg_ctl_open(struct sg_ctl **ctl, const char *path, char *err, size_t errlen);
int  sg_ctl_fd(const struct sg_ctl *ctl);
/* Accepts one client and answers it from the snapshots. */
void sg_ctl_serve(struct sg_ctl *ctl, const struct sg_snapshot *cur,
                  const struct sg_snapshot *prev);
void sg_ctl_close(struct sg_ctl *ctl);

#endif
