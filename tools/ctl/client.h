/* synguardctl's side of the control socket (src/daemon/ctl.h has the
 * protocol): one request, its status and its body. */
#ifndef SG_TOOLS_CTL_CLIENT_H
#define SG_TOOLS_CTL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

/* synguardctl's exit codes (synguardctl(8)): the daemon's status for a
 * request it answered, or SGC_UNREACHABLE. */
enum {
	SGC_OK = 0,
	SGC_FAILED = 1,
	SGC_USAGE = 2,
	SGC_UNREACHABLE = 3,
};

struct sgc_reply {
	int    status;        /* the daemon's status line */
	char  *body;          /* NUL-terminated; free() it */
	size_t len;
};

/* Sends argv[0..argc) (with "-j" first when json) to the daemon at path
 * and reads the whole reply.  0, or SGC_UNREACHABLE/SGC_USAGE with err
 * saying why and what to do. */
int sgc_request(const char *path, bool json, int argc, char *const argv[],
                struct sgc_reply *out, char *err, size_t errlen);

/* Connects and sends the request only: *fd is the socket, for a reply
 * read as it comes (capture).  0, or as sgc_request. */
int sgc_send(const char *path, bool json, int argc, char *const argv[], int *fd,
             char *err, size_t errlen);

#endif
