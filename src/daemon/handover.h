/* A restart or an upgrade that keeps the connections: the stopping
 * daemon writes its connection table and seed (core/ct_dump.h) to a file
 * beside its control socket, DIR/handover; the next daemon on the same
 * control socket reads it before its workers start, continues every
 * connection, still accepts the cookies handed out before, and removes
 * the file.  A dump it cannot trust or read exactly (another format,
 * another boot, other ports, too old, damaged) is refused with a message
 * naming what differs; the daemon then starts with an empty table.
 *
 * The file is trusted (it carries the cookie seed), so it must be a
 * regular file of ours that nobody else may read, in a directory that
 * passes sg_rundir_prepare. */
#ifndef SG_DAEMON_HANDOVER_H
#define SG_DAEMON_HANDOVER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ct_dump.h"
#include "core/proxy.h"

#define SG_HANDOVER_NAME      "handover"
/* A dump older than this is refused: forwarding stopped that long has
 * lost its connections anyway, and a stale file must not seed a daemon
 * started much later. */
#define SG_HANDOVER_MAX_AGE_S 60

struct sg_handover {
	char path[PATH_MAX];                 /* "": no handover (off, or a replay) */
	uint8_t tag[SG_CT_DUMP_TAG_BYTES];   /* this boot and these ports */
	uint8_t seed[SG_PROXY_SEED_BYTES];   /* the proxy's, for the dump at the stop */
	void *map;                           /* the predecessor's dump, begin to load */
	size_t len;
	uint64_t count;
};

/* This boot (/proc/sys/kernel/random/boot_id) and the ports, as a tag the
 * dump carries.  0, or a negative errno with a message. */
int sg_handover_tag(uint8_t tag[SG_CT_DUMP_TAG_BYTES], const char *const ifname[2], char *err,
                    size_t errlen);

/* The words for a fault of the dump's format. */
void sg_handover_explain(const struct sg_ct_dump_why *why, char *err, size_t errlen);

/* Reads and checks the dump at h->path against h->tag and now_ns (the
 * proxy's clock): 0 and the dump mapped in h (h->seed is its seed);
 * 1 when there is none; a negative errno with a message when refused. */
int sg_handover_read(struct sg_handover *h, uint64_t now_ns, char *err, size_t errlen);

/* Writes p's dump to path (through path.tmp and a rename, mode 0600).
 * No worker may run (sg_workers_halt).  The entry for a control command
 * (`synguardctl handover`): halt the workers, call this, stop.
 * 0 and *count, or a negative errno with a message. */
int sg_handover_write(const char *path, struct sg_proxy *p,
                      const uint8_t seed[SG_PROXY_SEED_BYTES],
                      const uint8_t tag[SG_CT_DUMP_TAG_BYTES], uint64_t now_ns, uint64_t *count,
                      char *err, size_t errlen);

/* The daemon's three steps, which log what they do.  begin: before
 * sg_proxy_create, with the seed the daemon drew; on = the handover
 * option and not a replay.  A dump accepted replaces *seed by its own.
 * The seed in use is kept for stop. */
void sg_handover_begin(struct sg_handover *h, bool on, const char *ctl_socket,
                       const char *const ifname[2], uint8_t seed[SG_PROXY_SEED_BYTES]);
/* After sg_proxy_create, before the workers start: loads the entries and
 * removes the file. */
void sg_handover_load(struct sg_handover *h, struct sg_proxy *p);
/* At the stop, workers halted: writes the dump (when begin said on). */
void sg_handover_stop(struct sg_handover *h, struct sg_proxy *p);

#endif
