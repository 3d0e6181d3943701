/* The host around the afxdp backend (afxdp.c): what AF_XDP needs of the
 * system before a socket binds, and what libxdp leaves on it after.
 *
 * - libxdp's and libbpf's messages, which go through a process-wide print
 *   hook, routed to the io being opened or closed (single-threaded);
 * - bpffs mounted, so libxdp can use its dispatcher;
 * - RLIMIT_MEMLOCK raised for the umem;
 * - the device's MTU and receive queue count, from sysfs;
 * - libxdp's program on a port: through its dispatcher or alone, and
 *   whether it stayed after our sockets closed.
 */
#ifndef SG_IO_XDP_HOST_H
#define SG_IO_XDP_HOST_H

#include <stdbool.h>

#include "io/backend.h"

/* libxdp/libbpf messages go to io until sg_xdp_host_quiet, once
 * sg_xdp_host_prepare has set the hooks: their info and debug lines at
 * SG_IO_LOG_TRACE as they come; their warnings are kept and said by
 * sg_xdp_host_quiet at warn_level.  Many of those warnings are libxdp
 * probing (its dispatcher refused, then a lone program loaded): noise
 * when the open worked, the explanation when it failed. */
void sg_xdp_host_listen(const struct sg_io *io);
void sg_xdp_host_quiet(int warn_level);

/* Before the first socket: the print hooks, bpffs and the memlock limit,
 * logged to io when they cannot be had. */
void sg_xdp_host_prepare(struct sg_io *io);

/* From sysfs; 0 when unknown. */
unsigned sg_xdp_host_mtu(const char *ifname);
unsigned sg_xdp_host_rx_queues(const char *ifname);

/* libxdp's AF_XDP program still attached to port's device after our
 * sockets closed: warned about, left in place (another user's?). */
void sg_xdp_host_check_prog_left(struct sg_io *io, int ifindex, unsigned port);

/* The device's XDP goes through libxdp's dispatcher (not a lone program). */
bool sg_xdp_host_dispatcher_used(int ifindex);

#endif
