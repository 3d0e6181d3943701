/* Capture of dropped frames: the frames the core drops for one reason (or
 * for any), copied as they are dropped, for synguardctl capture.
 *
 * Cost.  Nobody capturing: one predictable branch per frame, on a flag in
 * the worker's first cache line, which every call reads anyway (the drop
 * counter's reason is remembered by sg_count at no cost: see context.h).
 * Capturing: a worker copies each frame it drops for the reason, up to the
 * snap length, into a ring of its own (one producer, the worker; one
 * consumer, the control side) and never waits: a full ring loses the copy
 * and counts it.
 *
 * The rings are allocated by the first capture (by the control side, not
 * a worker) and live until sg_proxy_destroy, so a worker still finishing
 * a copy after a stop writes memory that is still there.  One capture at
 * a time; start, next and stop are called by one thread.
 */
#ifndef SG_CORE_CAPTURE_H
#define SG_CORE_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/proxy.h"

#define SG_CAPTURE_ALL     0xffu   /* reason: every drop */
#define SG_CAPTURE_NONE    0u      /* a drop no counter explained */
#define SG_CAPTURE_SLOTS   64u     /* frames a worker's ring holds */
#define SG_CAPTURE_SNAP_MAX 2048u  /* bytes kept of a frame, at most */

/* The reason named `name` ("drop_bad_checksum" or "bad_checksum"), or
 * SG_CAPTURE_ALL for "all"; -1 when it names no drop reason. */
int sg_capture_reason(const char *name);
/* The name of a reason without its "drop_" ("bad_checksum"), "all", or
 * "none" (a drop no counter explained). */
const char *sg_capture_reason_name(unsigned reason);

/* Arms every worker.  0, -EBUSY (a capture runs), -ENOMEM. */
int  sg_proxy_capture_start(struct sg_proxy *p, unsigned reason, unsigned snap);
/* Disarms; idempotent.  Frames copied meanwhile are left for next. */
void sg_proxy_capture_stop(struct sg_proxy *p);

struct sg_capture_frame {
	uint64_t ts_ns;          /* the clock of the frame's batch */
	uint32_t len;            /* on the wire */
	uint32_t caplen;         /* kept: min(len, snap) */
	uint8_t  port;           /* enum sg_port it arrived on */
	uint8_t  reason;         /* enum sg_stat */
	uint8_t  data[SG_CAPTURE_SNAP_MAX];
};

/* The next captured frame of any worker into *f: true, or false when
 * every ring is empty. */
bool sg_proxy_capture_next(struct sg_proxy *p, struct sg_capture_frame *f);
/* Copies lost to full rings since the capture started. */
uint64_t sg_proxy_capture_lost(const struct sg_proxy *p);

/* The core's side: called by the dispatch (proxy.c) with each frame's
 * verdict while w->cap_on is set, and by sg_proxy_destroy. */
void sg_capture_verdict(struct sg_proxy_worker *w, enum sg_port port, enum sg_verdict v,
                        const uint8_t *frame, uint32_t len, uint64_t now_ns);
void sg_capture_free(struct sg_proxy *p);

#endif
