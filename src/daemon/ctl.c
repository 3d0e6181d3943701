/* Control socket (see ctl.h). */
#include "daemon/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <poll.h>
#include <unistd.h>

#include "daemon/rundir.h"

#define LOCK_SUFFIX ".lock"

struct sg_ctl {
	int fd;
	int lock_fd;                 /* held while we serve; frees with us */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char lock[sizeof(((struct sockaddr_un *)0)->sun_path) + sizeof(LOCK_SUFFIX)];
};

static int add_named(struct sg_snapshot *s, const char *prefix, const char *name, uint64_t v)
{
	struct sg_counter *c;
	int len;

	if (s->n >= SG_CTL_MAX_COUNTERS)
		return -ENOSPC;
	c = &s->c[s->n];
	len = snprintf(c->name, sizeof(c->name), "%s%s", prefix, name);
	if (len < 0 || (size_t)len >= sizeof(c->name))
		return -ENAMETOOLONG;
	c->value = v;
	s->n++;
	return 0;
}

int sg_snapshot_add(struct sg_snapshot *s, const char *name, uint64_t v)
{
	return add_named(s, "", name, v);
}

int sg_snapshot_add_set(struct sg_snapshot *s, const char *prefix,
                        sg_snapshot_name_fn name, const uint64_t *v, unsigned n)
{
	int first = 0;

	for (unsigned i = 0; i < n; i++) {
		const char *nm = name(i);
		int rc;

		if (!nm)
			continue;
		rc = add_named(s, prefix, nm, v[i]);
		if (rc && !first)
			first = rc;
	}
	return first;
}

int sg_ctl_format(char *buf, size_t cap, const struct sg_snapshot *cur,
                  const struct sg_snapshot *prev, bool json)
{
	double dt = prev && cur->at_ns > prev->at_ns ? (double)(cur->at_ns - prev->at_ns) / 1e9 : 0;
	size_t len = 0;
	int n;

#define OUT(...) do {                                                  \
		n = snprintf(buf + len, cap - len, __VA_ARGS__);       \
		if (n < 0 || (size_t)n >= cap - len)                   \
			return -ENOSPC;                                \
		len += (size_t)n;                                      \
	} while (0)

	if (json)
		OUT("{\"interval_s\": %.3f, \"counters\": {", dt);
	for (unsigned i = 0; i < cur->n; i++) {
		double rate = 0;

		if (dt > 0 && i < prev->n && strcmp(prev->c[i].name, cur->c[i].name) == 0)
			rate = (double)(cur->c[i].value - prev->c[i].value) / dt;
		if (json)
			OUT("%s\"%s\": {\"value\": %llu, \"rate\": %.1f}", i ? ", " : "",
			    cur->c[i].name, (unsigned long long)cur->c[i].value, rate);
		else
			OUT("%-36s %20llu %14.1f/s\n", cur->c[i].name,
			    (unsigned long long)cur->c[i].value, rate);
	}
	if (json)
		OUT("}}\n");
#undef OUT
	return (int)len;
}

/* The socket's name is ours once we hold PATH.lock: a socket file there
 * without a lock holder is a dead daemon's, and ours to replace; a live
 * daemon's is never unlinked. */
static int take_name(struct sg_ctl *ctl, char *err, size_t errlen)
{
	int rc;

	snprintf(ctl->lock, sizeof(ctl->lock), "%s" LOCK_SUFFIX, ctl->path);
	rc = sg_rundir_lock(ctl->lock, 0, &ctl->lock_fd);
	if (rc == -EBUSY)
		snprintf(err, errlen, "control socket %s: EBUSY: another synguard is running and "
		         "holds %s; stop it, or give this one its own control.socket",
		         ctl->path, ctl->lock);
	else if (rc)
		snprintf(err, errlen, "control socket %s: cannot lock %s: %s", ctl->path,
		         ctl->lock, strerror(-rc));
	else
		unlink(ctl->path);
	return rc;
}

int sg_ctl_open(struct sg_ctl **out, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)], why[384];
	struct sg_ctl *ctl;
	int rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket %s: path too long (%zu bytes at most)", path,
		         sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	/* Whoever may write the directory may swap the socket and answer
	 * synguardctl in our name. */
	snprintf(dir, sizeof(dir), "%s", path);
	rc = sg_rundir_prepare(dirname(dir), why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "control socket %s: %s", path, why);
		return rc;
	}
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	ctl->fd = ctl->lock_fd = -1;
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	rc = take_name(ctl, err, errlen);
	if (rc) {
		free(ctl);
		return rc;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ctl->fd < 0)
		goto fail;
	{
		mode_t old = umask(0177);   /* the socket is born 0600 */

		rc = bind(ctl->fd, (struct sockaddr *)&sa, sizeof(sa));
		umask(old);
	}
	if (rc || listen(ctl->fd, 8))
		goto fail;
	*out = ctl;
	return 0;
fail:
	rc = -errno;
	snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
	if (ctl->fd >= 0)
		close(ctl->fd);
	sg_rundir_unlock(ctl->lock, ctl->lock_fd);
	free(ctl);
	return rc;
}

int sg_ctl_fd(const struct sg_ctl *ctl)
{
	return ctl->fd;
}

int sg_reply_printf(struct sg_reply *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->truncated)
		return -ENOSPC;
	for (;;) {
		size_t room = r->cap - r->len;

		va_start(ap, fmt);
		n = vsnprintf(r->buf ? r->buf + r->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -EINVAL;
		if ((size_t)n < room) {
			r->len += (size_t)n;
			return 0;
		}
		size_t want = r->cap ? r->cap * 2 : 16384;

		while (want < r->len + (size_t)n + 1)
			want *= 2;
		if (want > SG_CTL_REPLY_MAX)
			want = SG_CTL_REPLY_MAX;
		if (want <= r->len + (size_t)n) {
			r->truncated = true;
			return -ENOSPC;
		}
		char *nb = realloc(r->buf, want);

		if (!nb) {
			r->truncated = true;
			return -ENOSPC;
		}
		r->buf = nb;
		r->cap = want;
	}
}

int sg_reply_json_str(struct sg_reply *r, const char *s)
{
	int rc = sg_reply_printf(r, "\"");

	for (const unsigned char *p = (const unsigned char *)s; !rc && *p; p++) {
		if (*p == '"' || *p == '\\')
			rc = sg_reply_printf(r, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)   /* bytes, not UTF-8: each its own code point */
			rc = sg_reply_printf(r, "\\u%04x", *p);
		else
			rc = sg_reply_printf(r, "%c", *p);
	}
	return rc ? rc : sg_reply_printf(r, "\"");
}

void sg_reply_fail(struct sg_reply *r, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->status = status;
	sg_reply_printf(r, "error: %s\n", msg);
}

static void write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			return;     /* the client left: nothing to tell it */
		p += n;
		len -= (size_t)n;
	}
}

void sg_ctl_serve(struct sg_ctl *ctl, sg_ctl_handler handler, void *ctx)
{
	char line[SG_CTL_LINE_MAX + 1], *argv[SG_CTL_ARGS_MAX + 1], *save, *w, head[32];
	struct sg_reply r = { 0 };
	struct pollfd pfd;
	size_t got = 0;
	bool json = false;
	int fd, argc = 0;

	fd = accept4(ctl->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	/* A client that connects and says nothing must not stall the control
	 * thread: one second to send its line. */
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (got < SG_CTL_LINE_MAX && !memchr(line, '\n', got)) {
		ssize_t n;

		if (poll(&pfd, 1, 1000) != 1 || (n = read(fd, line + got, SG_CTL_LINE_MAX - got)) <= 0)
			break;
		got += (size_t)n;
	}
	line[got] = 0;
	if (!memchr(line, '\n', got)) {
		sg_reply_fail(&r, 2, got >= SG_CTL_LINE_MAX ? "request longer than %d bytes"
		              : "incomplete request (no end of line)", SG_CTL_LINE_MAX);
		goto answer;
	}
	line[strcspn(line, "\r\n")] = 0;
	for (w = strtok_r(line, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (argc == 0 && !json && strcmp(w, "-j") == 0) {
			json = true;
			continue;
		}
		if (argc == SG_CTL_ARGS_MAX) {
			sg_reply_fail(&r, 2, "more than %d words", SG_CTL_ARGS_MAX);
			goto answer;
		}
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	if (argc == 0)
		sg_reply_fail(&r, 2, "empty request (try: help)");
	else
		handler(ctx, argc, argv, json, &r);
answer:
	if (r.truncated)
		r.status = r.status ? r.status : 1;
	snprintf(head, sizeof(head), "%d\n", r.status);
	write_all(fd, head, strlen(head));
	if (r.len)
		write_all(fd, r.buf, r.len);
	if (r.truncated) {
		char cut[96];

		snprintf(cut, sizeof(cut), "error: reply cut at %u MiB; narrow the request\n",
		         SG_CTL_REPLY_MAX >> 20);
		write_all(fd, cut, strlen(cut));
	}
	free(r.buf);
	if (r.keep && !r.status && !r.truncated)
		r.keep(r.keep_arg, fd);
	else
		close(fd);
}

void sg_ctl_close(struct sg_ctl *ctl)
{
	if (!ctl)
		return;
	close(ctl->fd);
	unlink(ctl->path);
	sg_rundir_unlock(ctl->lock, ctl->lock_fd);
	free(ctl);
}
