/* synguardctl capture: dropped frames streamed to the client.
 *
 * The request is answered at once (status 0 once armed, 2 for a bad
 * request), then the connection stays open and a capture thread of its
 * own (the control thread must go on serving) sends, for each frame:
 *   "frame TS_NS LEN CAPLEN PORT REASON\n" then CAPLEN raw bytes
 * and last "end FRAMES LOST WHY\n", WHY being count (COUNT frames sent),
 * timeout, client (the client left) or stopped (the daemon stops).
 * synguardctl writes the frames as a pcap file. */
#ifndef SG_DAEMON_CTL_CAPTURE_H
#define SG_DAEMON_CTL_CAPTURE_H

#include <stdbool.h>

#include "daemon/ctl.h"

struct sg_daemon;

#define SG_CAPTURE_DEFAULT_TIMEOUT_S 10u
#define SG_CAPTURE_MAX_TIMEOUT_S     3600u

/* The control command: capture reason R [count N] [timeout S] [snap B]. */
void sg_ctl_capture(struct sg_daemon *d, int argc, char **argv, bool json, struct sg_reply *r);

/* Ends a running capture and waits for its thread: before the workers
 * and the proxy go away. */
void sg_ctl_capture_shutdown(void);

#endif
