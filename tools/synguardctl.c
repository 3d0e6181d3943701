/* synguardctl: the control socket's client.
 *   synguardctl [-s SOCKET] stats [--json]
 * Exit codes: 0 ok, 1 cannot reach the daemon, 2 usage. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/ctl.h"   /* SG_CTL_DEFAULT_SOCKET: the daemon's default */


static void usage(FILE *f)
{
	fprintf(f, "usage: synguardctl [-s SOCKET] stats [--json]\n"
	           "  stats    counters of the running synguard, with rates per second\n"
	           "  --json   the same as one JSON object\n"
	           "  -s PATH  control socket (default " SG_CTL_DEFAULT_SOCKET ")\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = SG_CTL_DEFAULT_SOCKET;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[4096], cmd[32];
	int json = 0, o, fd;
	ssize_t n;

	while ((o = getopt_long(argc, argv, "s:jh", longopts, NULL)) != -1) {
		switch (o) {
		case 's': path = optarg; break;
		case 'j': json = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1 || strcmp(argv[optind], "stats") != 0) {
		usage(stderr);
		return 2;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "synguardctl: %s: path too long\n", path);
		return 2;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		fprintf(stderr, "synguardctl: %s: %s (%s)\n", path, strerror(e),
		        e == ENOENT || e == ECONNREFUSED ? "is synguard running?" :
		        e == EACCES ? "the socket is root-only" : "see synguard(8)");
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "%s\n", json ? "stats json" : "stats");
	if (write(fd, cmd, strlen(cmd)) < 0) {
		fprintf(stderr, "synguardctl: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	close(fd);
	return 0;
}
