/* synguardctl's side of the control socket (see client.h). */
#include "ctl/client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/ctl.h"   /* SG_CTL_LINE_MAX, SG_CTL_REPLY_MAX */

static int connect_to(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: path too long for a Unix socket (%zu bytes at most)",
		         path, sizeof(sa.sun_path) - 1);
		return -SGC_USAGE;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	e = errno;
	if (fd >= 0)
		close(fd);
	snprintf(err, errlen, "%s: %s (%s)", path, strerror(e),
	         e == ENOENT || e == ECONNREFUSED ? "is synguard running? its control.socket "
	                                            "option names the socket" :
	         e == EACCES ? "the socket is root-only" : "see synguard(8)");
	return -SGC_UNREACHABLE;
}

int sgc_send(const char *path, bool json, int argc, char *const argv[], int *fdp,
             char *err, size_t errlen)
{
	char line[SG_CTL_LINE_MAX + 1];
	int fd, n;

	n = snprintf(line, sizeof(line), "%s", json ? "-j" : "");
	for (int i = 0; i < argc && n >= 0 && (size_t)n < sizeof(line); i++) {
		if (strpbrk(argv[i], " \t\r\n") || !argv[i][0]) {
			snprintf(err, errlen, "argument '%s': empty or with blanks, which the "
			         "control socket cannot carry", argv[i]);
			return SGC_USAGE;
		}
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%s%s", n ? " " : "", argv[i]);
	}
	if (n < 0 || (size_t)n + 1 >= sizeof(line)) {
		snprintf(err, errlen, "the request is longer than %d bytes", SG_CTL_LINE_MAX);
		return SGC_USAGE;
	}
	line[n++] = '\n';
	fd = connect_to(path, err, errlen);
	if (fd < 0)
		return -fd;
	if (write(fd, line, (size_t)n) != n) {
		snprintf(err, errlen, "%s: sending the request: %s", path, strerror(errno));
		close(fd);
		return SGC_UNREACHABLE;
	}
	*fdp = fd;
	return 0;
}

int sgc_request(const char *path, bool json, int argc, char *const argv[],
                struct sgc_reply *out, char *err, size_t errlen)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *nl;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	rc = sgc_send(path, json, argc, argv, &fd, err, errlen);
	if (rc)
		return rc;
	for (;;) {
		ssize_t k;

		if (cap - len < 4096) {
			char *nb;

			cap = cap ? cap * 2 : 65536;
			if (cap > SG_CTL_REPLY_MAX + 65536 || !(nb = realloc(buf, cap))) {
				snprintf(err, errlen, "%s: the reply is larger than the protocol allows",
				         path);
				free(buf);
				close(fd);
				return SGC_UNREACHABLE;
			}
			buf = nb;
		}
		k = read(fd, buf + len, cap - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	if (!buf || !(nl = memchr(buf, '\n', len)) || nl == buf) {
		snprintf(err, errlen, "%s: the daemon closed without a status line", path);
		free(buf);
		return SGC_UNREACHABLE;
	}
	buf[len] = 0;
	*nl = 0;
	out->status = atoi(buf);
	out->len = len - (size_t)(nl + 1 - buf);
	memmove(buf, nl + 1, out->len + 1);
	out->body = buf;
	return 0;
}
