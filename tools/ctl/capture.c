/* synguardctl capture (see capture.h): the options become the daemon's
 * request words (src/daemon/ctl_capture.h has the stream it answers
 * with), and each frame of the stream a pcap record. */
#include "ctl/capture.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl/client.h"

#define SNAP_MAX 2048u               /* the daemon's SG_CAPTURE_SNAP_MAX */
#define PCAP_LINKTYPE_ETHERNET 1u

struct reader {
	int fd;
	int wait_ms;                 /* for each read */
	size_t pos, len;
	char buf[65536];
};

/* 1 a byte, 0 end of stream, -1 timeout or error. */
static int rd_byte(struct reader *r, char *c)
{
	if (r->pos == r->len) {
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, r->wait_ms) != 1)
			return -1;
		n = read(r->fd, r->buf, sizeof(r->buf));
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		r->pos = 0;
		r->len = (size_t)n;
	}
	*c = r->buf[r->pos++];
	return 1;
}

static int rd_line(struct reader *r, char *line, size_t cap)
{
	size_t n = 0;
	char c;
	int rc;

	while ((rc = rd_byte(r, &c)) == 1 && c != '\n')
		if (n + 1 < cap)
			line[n++] = c;
	line[n] = 0;
	return rc == 1 ? 0 : -1;
}

static int rd_bytes(struct reader *r, uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (rd_byte(r, (char *)&p[i]) != 1)
			return -1;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: synguardctl capture --reason R [-c N] [-t SECONDS] [--snap BYTES] -w FILE\n"
	           "  -r, --reason R  the drop reason (synguardctl capture --reason help lists them), or all\n"
	           "  -c, --count N   stop after N frames (default: at the timeout)\n"
	           "  -t, --timeout S give up after S seconds (default 10)\n"
	           "  --snap BYTES    bytes kept of each frame (64-%u, default all up to %u)\n"
	           "  -w, --write FILE  the pcap file; - for standard output\n", SNAP_MAX, SNAP_MAX);
}

static int put(FILE *out, const void *p, size_t len)
{
	return fwrite(p, 1, len, out) == len ? 0 : -1;
}

static int pcap_header(FILE *out, uint32_t snap)
{
	const uint32_t magic = 0xa1b2c3d4u, zone = 0, sigfigs = 0, link = PCAP_LINKTYPE_ETHERNET;
	const uint16_t major = 2, minor = 4;

	return put(out, &magic, 4) || put(out, &major, 2) || put(out, &minor, 2) ||
	       put(out, &zone, 4) || put(out, &sigfigs, 4) || put(out, &snap, 4) ||
	       put(out, &link, 4);
}

/* The daemon stamps frames with CLOCK_MONOTONIC: the same machine's, so
 * the wall time is that plus the offset between the two clocks now. */
static int64_t wall_offset_ns(void)
{
	struct timespec rt, mono;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	return ((int64_t)rt.tv_sec - mono.tv_sec) * 1000000000 + (rt.tv_nsec - mono.tv_nsec);
}

int sgc_capture(const char *path, bool json, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "snap", required_argument, NULL, 'S' },
		{ "write", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *reason = NULL, *count = NULL, *timeout = "10", *snap = NULL, *file = NULL;
	char *words[10], err[512], line[4096];
	static struct reader rd;
	static uint8_t data[SNAP_MAX];
	unsigned long frames = 0, lost = 0, t_s;
	int o, nw = 0, fd, rc, status = -1;
	FILE *out = NULL, *say = stderr;
	char ended[32] = "";
	int64_t off = wall_offset_ns();
	char *end;

	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+r:c:t:w:h", longopts, NULL)) != -1) {
		switch (o) {
		case 'r': reason = optarg; break;
		case 'c': count = optarg; break;
		case 't': timeout = optarg; break;
		case 'S': snap = optarg; break;
		case 'w': file = optarg; break;
		case 'h': usage(stdout); return SGC_OK;
		default:
			fprintf(stderr, "synguardctl capture: %s '%s'\n",
			        optopt ? "option needs a value or is unknown:" : "unknown option",
			        argv[optind - 1]);
			usage(stderr);
			return SGC_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "synguardctl capture: unexpected '%s'\n", argv[optind]);
		usage(stderr);
		return SGC_USAGE;
	}
	if (!reason || !file) {
		fprintf(stderr, "synguardctl capture: %s is required\n", !reason ? "--reason" : "-w FILE");
		usage(stderr);
		return SGC_USAGE;
	}
	errno = 0;
	t_s = strtoul(timeout, &end, 10);
	if (errno || end == timeout || *end || t_s == 0) {
		fprintf(stderr, "synguardctl capture: -t '%s': not a number of seconds\n", timeout);
		return SGC_USAGE;
	}
	/* The daemon checks every value and names the bad one. */
	words[nw++] = "capture";
	words[nw++] = "reason";
	words[nw++] = (char *)reason;
	words[nw++] = "timeout";
	words[nw++] = (char *)timeout;
	if (count) {
		words[nw++] = "count";
		words[nw++] = (char *)count;
	}
	if (snap) {
		words[nw++] = "snap";
		words[nw++] = (char *)snap;
	}
	rc = sgc_send(path, false, nw, words, &fd, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "synguardctl: %s\n", err);
		return rc;
	}
	rd.fd = fd;
	rd.wait_ms = 5000;
	if (rd_line(&rd, line, sizeof(line)) || !line[0]) {
		fprintf(stderr, "synguardctl: %s: the daemon closed without a status line\n", path);
		close(fd);
		return SGC_UNREACHABLE;
	}
	status = atoi(line);
	if (status) {
		int c;
		char ch;

		while ((c = rd_byte(&rd, &ch)) == 1)
			fputc(ch, stderr);
		close(fd);
		return status == SGC_USAGE ? SGC_USAGE : SGC_FAILED;
	}
	if (strcmp(file, "-") == 0) {
		out = stdout;
	} else if (!(out = fopen(file, "wb"))) {
		fprintf(stderr, "synguardctl capture: -w %s: %s\n", file, strerror(errno));
		close(fd);
		return SGC_FAILED;
	}
	if (out == stdout)
		say = stderr;
	else if (json)
		say = stdout;
	if (pcap_header(out, snap ? (uint32_t)atoi(snap) : SNAP_MAX))
		goto write_failed;
	/* The daemon ends the stream itself at the timeout; a little more
	 * for a daemon that went silent. */
	rd.wait_ms = (int)(t_s * 1000 + 5000);
	for (;;) {
		unsigned long long ts;
		unsigned len, caplen;
		char port[8], why[64];

		if (rd_line(&rd, line, sizeof(line))) {
			fprintf(stderr, "synguardctl capture: the daemon stopped answering (%lu frames "
			        "written)\n", frames);
			rc = SGC_FAILED;
			goto done;
		}
		if (sscanf(line, "end %lu %lu %31s", &frames, &lost, ended) == 3)
			break;
		if (sscanf(line, "frame %llu %u %u %7s %63s", &ts, &len, &caplen, port, why) != 5 ||
		    caplen > SNAP_MAX || caplen > len || rd_bytes(&rd, data, caplen)) {
			fprintf(stderr, "synguardctl capture: unexpected from the daemon: '%s'\n", line);
			rc = SGC_FAILED;
			goto done;
		}
		{
			uint64_t wall = ts + (uint64_t)off;
			uint32_t hdr[4] = { (uint32_t)(wall / 1000000000u),
			                    (uint32_t)(wall % 1000000000u / 1000u), caplen, len };

			if (put(out, hdr, sizeof(hdr)) || put(out, data, caplen))
				goto write_failed;
		}
	}
	if (fflush(out))
		goto write_failed;
	if (frames == 0) {
		fprintf(stderr, "synguardctl capture: no frame dropped for reason %s in %lu s\n",
		        reason, t_s);
		rc = SGC_FAILED;
	} else {
		rc = SGC_OK;
	}
	if (json)
		fprintf(say, "{\"frames\": %lu, \"lost\": %lu, \"reason\": \"%s\", \"ended\": \"%s\", "
		        "\"file\": \"%s\"}\n", frames, lost, reason, ended, file);
	else if (frames)
		fprintf(say, "%lu frame%s dropped for %s written to %s (%s%s%lu lost to full rings)\n",
		        frames, frames == 1 ? "" : "s", reason, strcmp(file, "-") ? file : "stdout",
		        strcmp(ended, "count") == 0 ? "count reached" : ended, ", ", lost);
	goto done;
write_failed:
	fprintf(stderr, "synguardctl capture: writing %s: %s\n", file, strerror(errno));
	rc = SGC_FAILED;
done:
	close(fd);
	if (out && out != stdout)
		fclose(out);
	return rc;
}
