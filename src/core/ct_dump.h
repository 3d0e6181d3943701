/* The connection table handed from a stopping process to its successor:
 * a versioned dump of every live entry (key, state, owner, time left,
 * the proxy's record) and of the seed, so the successor, even a newer
 * binary, continues every connection and still accepts the cookies its
 * predecessor handed out.
 *
 * The format is one header and `count` fixed-size records, in the
 * machine's byte order (the dump never leaves the machine: the daemon
 * refuses one from another boot).  A reader refuses what it cannot read
 * exactly: another magic, another SG_CT_DUMP_VERSION, other sizes, another
 * layout of the record (a fingerprint of every field's offset and size,
 * the state names, the record's flag bits), a length that disagrees with
 * the count, a checksum (BLAKE2b-256) that does not match.  Bump the
 * version when a field keeps its place but changes its meaning: the
 * fingerprint cannot see that.
 *
 * No file, no clock, no words: the caller hands buffers and instants in
 * and words the fault (struct sg_ct_dump_why) itself. */
#ifndef SG_CORE_CT_DUMP_H
#define SG_CORE_CT_DUMP_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/proxy.h"

#define SG_CT_DUMP_VERSION   1u
#define SG_CT_DUMP_TAG_BYTES 128

/* What travels with the entries. */
struct sg_ct_dump_info {
	uint8_t  seed[SG_PROXY_SEED_BYTES];   /* the seed the proxy was created from */
	uint8_t  tag[SG_CT_DUMP_TAG_BYTES];   /* the caller's, carried unread
	                                         (the daemon: boot and ports) */
	uint64_t now_ns;                      /* the dump's instant, the proxy's clock */
	uint64_t count;                       /* entries (filled by the dump) */
};

/* Why a dump was refused: `found` in the dump, `expected` by this build
 * (sizes, version, fingerprint, bytes). */
enum sg_ct_dump_fault {
	SG_CT_DUMP_OK = 0,
	SG_CT_DUMP_SHORT,         /* fewer bytes than a header (found, expected) */
	SG_CT_DUMP_MAGIC,         /* not a dump */
	SG_CT_DUMP_VERSION_DIFF,  /* found, expected: format versions */
	SG_CT_DUMP_HEAD_SIZE,     /* header bytes */
	SG_CT_DUMP_RECORD_SIZE,   /* record bytes */
	SG_CT_DUMP_PAYLOAD_SIZE,  /* the table's payload bytes */
	SG_CT_DUMP_LAYOUT,        /* the record's layout fingerprint */
	SG_CT_DUMP_LENGTH,        /* found bytes, expected from the count */
	SG_CT_DUMP_CHECKSUM,      /* the contents were changed or cut */
	SG_CT_DUMP_ENTRY,         /* entry number `found` has an impossible state */
};

struct sg_ct_dump_why {
	enum sg_ct_dump_fault fault;
	uint64_t found, expected;
};

/* Bytes a dump of p takes now.  No worker may run (after
 * sg_proxy_worker_offline or before the workers start). */
size_t sg_ct_dump_size(struct sg_proxy *p);

/* Writes the dump of p into buf (cap >= sg_ct_dump_size): info's seed,
 * tag and instant, then every live entry with its time left from
 * info->now_ns.  No worker may run.  0 and *len, or -ENOSPC. */
int sg_ct_dump(struct sg_proxy *p, struct sg_ct_dump_info *info, void *buf, size_t cap,
               size_t *len);

/* Checks buf whole (every rule above) and gives its header.  0, or
 * -EINVAL with the fault in *why. */
int sg_ct_dump_check(const void *buf, size_t len, struct sg_ct_dump_info *info,
                     struct sg_ct_dump_why *why);

/* What a load did. */
struct sg_ct_load_result {
	uint64_t loaded;
	uint64_t refused;         /* the table was full (a smaller capacity), or
	                             the key was there already */
};

/* Loads the entries of a dump sg_ct_dump_check accepted into p, which was
 * created from the dump's seed and whose workers have not started: each
 * entry keeps its state and record, on worker (owner mod workers), with
 * its time left less what passed since the dump (now_ns - the dump's
 * instant, the same clock; an entry whose time ran out is due at the next
 * tick, so a SYN retransmit still happens).  Quota counts follow.  0, or
 * -EINVAL with *why (the buffer does not pass sg_ct_dump_check). */
int sg_ct_dump_load(struct sg_proxy *p, const void *buf, size_t len, uint64_t now_ns,
                    struct sg_ct_load_result *res, struct sg_ct_dump_why *why);

#endif
