/* synguardctl capture (see ctl_capture.h): arms the core's capture
 * (core/capture.h) and drains its rings to the client from a thread of
 * its own, ten times a second at least. */
#include "daemon/ctl_capture.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/capture.h"
#include "daemon/clock.h"
#include "daemon/daemon.h"
#include "daemon/log.h"

#define DRAIN_WAIT_MS 10

/* One capture at a time, for the whole process. */
static struct {
	struct sg_proxy *proxy;
	pthread_t thread;
	bool joinable;           /* a thread was started and not joined */
	int running;             /* atomic: the thread has not finished */
	int stop;                /* atomic: shutdown asks it to end */
	int fd;
	unsigned reason;
	unsigned long count;     /* 0: until the timeout */
	uint64_t deadline_ns;
} cap;

static int send_all(int fd, const void *p, size_t len)
{
	const char *b = p;

	while (len > 0) {
		ssize_t n = send(fd, b, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

static bool client_left(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLRDHUP };
	char c;

	if (poll(&pfd, 1, DRAIN_WAIT_MS) <= 0)
		return false;
	return (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) ||
	       recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

static void *capture_main(void *arg)
{
	static struct sg_capture_frame f;
	unsigned long sent = 0;
	const char *why = "timeout";
	char line[128];

	(void)arg;
	for (;;) {
		bool got = false;

		while ((!cap.count || sent < cap.count) && sg_proxy_capture_next(cap.proxy, &f)) {
			int n = snprintf(line, sizeof(line), "frame %llu %u %u %s %s\n",
			                 (unsigned long long)f.ts_ns, f.len, f.caplen,
			                 f.port == SG_PORT_WAN ? "wan" : "lan",
			                 sg_capture_reason_name(f.reason));

			if (send_all(cap.fd, line, (size_t)n) || send_all(cap.fd, f.data, f.caplen)) {
				why = "client";
				goto out;
			}
			sent++;
			got = true;
		}
		if (cap.count && sent >= cap.count) {
			why = "count";
			break;
		}
		if (__atomic_load_n(&cap.stop, __ATOMIC_ACQUIRE)) {
			why = "stopped";
			break;
		}
		if (sg_clock_mono_ns() >= cap.deadline_ns)
			break;
		if (!got && client_left(cap.fd)) {
			why = "client";
			break;
		}
	}
	snprintf(line, sizeof(line), "end %lu %llu %s\n", sent,
	         (unsigned long long)sg_proxy_capture_lost(cap.proxy), why);
	send_all(cap.fd, line, strlen(line));
out:
	sg_proxy_capture_stop(cap.proxy);
	sg_log(LOG_INFO, "capture of %s drops ended: %lu frames (%s)",
	       sg_capture_reason_name(cap.reason), sent, why);
	close(cap.fd);
	__atomic_store_n(&cap.running, 0, __ATOMIC_RELEASE);
	return NULL;
}

/* Called by the transport with the client's socket, once the status is
 * sent. */
static void keep_fd(void *arg, int fd)
{
	struct timeval tv = { .tv_sec = 2 };
	sigset_t all, old;
	int e;

	(void)arg;
	/* A client that stops reading must not hold the thread for ever. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	cap.fd = fd;
	__atomic_store_n(&cap.running, 1, __ATOMIC_RELAXED);
	/* Signals stay with the main thread's signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	e = pthread_create(&cap.thread, NULL, capture_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		sg_log(LOG_ERR, "capture: pthread_create: %s", strerror(e));
		sg_proxy_capture_stop(cap.proxy);
		__atomic_store_n(&cap.running, 0, __ATOMIC_RELAXED);
		close(fd);
		return;
	}
	cap.joinable = true;
}

static void reasons(char *buf, size_t len)
{
	size_t at = (size_t)snprintf(buf, len, "all");

	for (unsigned s = SG_STAT_DROP_FIRST; s < SG_STAT__COUNT && at < len; s++)
		at += (size_t)snprintf(buf + at, len - at, ", %s", sg_capture_reason_name(s));
}

static long number(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	return errno || end == s || *end || v < lo || v > hi ? -1 : v;
}

void sg_ctl_capture(struct sg_daemon *d, int argc, char **argv, bool json, struct sg_reply *r)
{
	long reason = -1, count = 0, timeout = SG_CAPTURE_DEFAULT_TIMEOUT_S, snap = SG_CAPTURE_SNAP_MAX;
	char names[1024];
	int rc;

	(void)json;
	for (int i = 1; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v) {
			sg_reply_fail(r, 2, "capture: '%s' needs a value", k);
			return;
		}
		if (strcmp(k, "reason") == 0) {
			if ((reason = sg_capture_reason(v)) < 0) {
				reasons(names, sizeof(names));
				sg_reply_fail(r, 2, "capture: unknown reason '%s' (one of: %s)", v, names);
				return;
			}
		} else if (strcmp(k, "count") == 0) {
			if ((count = number(v, 1, 1000000)) < 0) {
				sg_reply_fail(r, 2, "capture: count '%s': not a number from 1 to 1000000", v);
				return;
			}
		} else if (strcmp(k, "timeout") == 0) {
			if ((timeout = number(v, 1, SG_CAPTURE_MAX_TIMEOUT_S)) < 0) {
				sg_reply_fail(r, 2, "capture: timeout '%s': not a number of seconds from 1 "
				              "to %u", v, SG_CAPTURE_MAX_TIMEOUT_S);
				return;
			}
		} else if (strcmp(k, "snap") == 0) {
			if ((snap = number(v, 64, SG_CAPTURE_SNAP_MAX)) < 0) {
				sg_reply_fail(r, 2, "capture: snap '%s': not a number of bytes from 64 to %u",
				              v, SG_CAPTURE_SNAP_MAX);
				return;
			}
		} else {
			sg_reply_fail(r, 2, "capture: unknown word '%s' (usage: capture reason R "
			              "[count N] [timeout S] [snap B])", k);
			return;
		}
	}
	if (reason < 0) {
		reasons(names, sizeof(names));
		sg_reply_fail(r, 2, "capture: which reason? (reason R, one of: %s)", names);
		return;
	}
	if (!d->proxy) {
		sg_reply_fail(r, 1, "capture: nothing is dropped (synguard runs --bridge-only)");
		return;
	}
	if (__atomic_load_n(&cap.running, __ATOMIC_ACQUIRE)) {
		sg_reply_fail(r, 1, "capture: another capture is running; one at a time");
		return;
	}
	if (cap.joinable) {
		pthread_join(cap.thread, NULL);
		cap.joinable = false;
	}
	rc = sg_proxy_capture_start(d->proxy, (unsigned)reason, (unsigned)snap);
	if (rc) {
		sg_reply_fail(r, 1, "capture: %s", strerror(-rc));
		return;
	}
	cap.proxy = d->proxy;
	cap.reason = (unsigned)reason;
	cap.count = (unsigned long)count;
	cap.deadline_ns = sg_clock_mono_ns() + (uint64_t)timeout * 1000000000ull;
	__atomic_store_n(&cap.stop, 0, __ATOMIC_RELAXED);
	r->keep = keep_fd;
	r->keep_arg = NULL;
	/* If the transport cannot hand the socket over, nothing drains. */
	sg_log(LOG_INFO, "capture of %s drops: up to %ld frames in %ld s",
	       sg_capture_reason_name((unsigned)reason), count, timeout);
}

void sg_ctl_capture_shutdown(void)
{
	if (!cap.joinable) {
		if (cap.proxy)
			sg_proxy_capture_stop(cap.proxy);
		return;
	}
	__atomic_store_n(&cap.stop, 1, __ATOMIC_RELEASE);
	pthread_join(cap.thread, NULL);
	cap.joinable = false;
}
