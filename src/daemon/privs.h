/* Privileges after set-up.  Opening the sockets and preparing the ports
 * need root (CAP_NET_ADMIN, CAP_NET_RAW, for AF_XDP also CAP_BPF or
 * CAP_SYS_ADMIN and CAP_IPC_LOCK); parsing hostile frames needs nothing.
 * What is kept serves only to undo the set-up at the stop.
 *
 * Capabilities belong to threads: the calling thread's sets change, and
 * threads it creates afterwards inherit them.  So the daemon calls
 * sg_privs_drop before it starts the workers, each worker calls
 * sg_privs_drop_thread as its first act, and the control thread calls
 * sg_privs_raise just before it tears down.
 */
#ifndef SG_DAEMON_PRIVS_H
#define SG_DAEMON_PRIVS_H

#include <stddef.h>

/* What the teardown will have to undo. */
#define SG_PRIVS_NIC 1u     /* ports prepared (nic.c) */
#define SG_PRIVS_XDP 2u     /* AF_XDP sockets: libxdp removes its program */

/* For the calling thread and what it starts later: no_new_privs; the
 * bounding and permitted sets reduced to the capabilities the teardown of
 * `need` takes (and the process has); nothing effective, inheritable or
 * ambient.  need 0: nothing kept.  0, or a negative errno with a message. */
int sg_privs_drop(unsigned need, char *err, size_t errlen);

/* For a worker: no capability at all, for good.  0 or a negative errno. */
int sg_privs_drop_thread(void);

/* Makes what sg_privs_drop kept effective again, for the teardown. */
int sg_privs_raise(void);

#endif
