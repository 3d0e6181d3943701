/* An address literal and a port, as options write a listening address:
 * "127.0.0.1:9477" or "[::1]:9477".  Literals only: nothing is resolved,
 * so a start never waits for a name server. */
#ifndef SG_DAEMON_HOSTPORT_H
#define SG_DAEMON_HOSTPORT_H

#include <stddef.h>
#include <sys/socket.h>

/* Fills *ss and *len; 0, or -EINVAL with what is wrong in why ("the port
 * must be 1..65535"). */
int sg_hostport_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len,
                      char *why, size_t whylen);

#endif
