/* The /metrics endpoint (see metrics.h). */
#include "daemon/metrics.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/hostport.h"
#include "daemon/log.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct sg_metrics {
	struct MHD_Daemon *mhd;
	pthread_mutex_t lock;            /* guards front and published */
	struct sg_metrics_snap *front;   /* what scrapes render */
	struct sg_metrics_snap *back;    /* the control thread's */
	bool published;                  /* front holds a snapshot */
	char version[64];
	/* for the thread that starts the server */
	int fd;
	int (*thread_init)(void);
	int start_err;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, char *body, size_t len,
                             enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result rc;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	                        status == MHD_HTTP_OK ? CONTENT_TYPE : "text/plain; charset=utf-8");
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_len, void **state)
{
	static char not_found[] = "not found: synguard serves GET /metrics only\n";
	static char no_snapshot[] = "no snapshot yet: the daemon is starting\n";
	struct sg_metrics *m = cls;
	char *text = NULL;
	size_t len = 0;
	bool have;

	(void)version;
	(void)upload;
	(void)state;
	if (*upload_len)
		return MHD_NO;    /* a GET has no body: not ours */
	if ((strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) ||
	    strcmp(url, "/metrics") != 0)
		return reply(conn, MHD_HTTP_NOT_FOUND, not_found, strlen(not_found),
		             MHD_RESPMEM_PERSISTENT);
	pthread_mutex_lock(&m->lock);
	have = m->published;
	if (have)
		text = sg_metrics_render(m->front, m->version, &len);
	pthread_mutex_unlock(&m->lock);
	if (!have)
		return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, no_snapshot, strlen(no_snapshot),
		             MHD_RESPMEM_PERSISTENT);
	if (!text)
		return MHD_NO;
	return reply(conn, MHD_HTTP_OK, text, len, MHD_RESPMEM_MUST_FREE);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = 0;
	sg_log(LOG_WARNING, "metrics: %s", msg);
}

/* Threads inherit their creator's capabilities: the server's thread is
 * created by this one, which has given up its own first. */
static void *start_server(void *arg)
{
	struct sg_metrics *m = arg;

	m->start_err = m->thread_init ? m->thread_init() : 0;
	if (m->start_err)
		return NULL;
	m->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG,
	                          0, NULL, NULL, answer, m,
	                          MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	                          MHD_OPTION_LISTEN_SOCKET, m->fd,
	                          MHD_OPTION_CONNECTION_LIMIT, 16u,
	                          MHD_OPTION_CONNECTION_TIMEOUT, 10u,
	                          MHD_OPTION_END);
	if (!m->mhd)
		m->start_err = errno ? -errno : -EIO;
	return NULL;
}

static int listen_on(const char *where, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char why[160];
	int fd, one = 1, e;

	if (sg_hostport_parse(where, &ss, &len, why, sizeof(why))) {
		snprintf(err, errlen, "metrics.listen: \"%s\": %s", where, why);
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "metrics.listen: %s: socket: %s", where, strerror(e));
		return -e;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 16) != 0) {
		e = errno;
		snprintf(err, errlen, "metrics.listen: %s: cannot listen: %s%s", where, strerror(e),
		         e == EADDRINUSE ? " (another program has the port: choose another one)" :
		         e == EADDRNOTAVAIL ? " (no interface has this address)" : "");
		close(fd);
		return -e;
	}
	return fd;
}

int sg_metrics_start(struct sg_metrics **out, const char *listen, const char *version,
                     int (*thread_init)(void), char *err, size_t errlen)
{
	struct sg_metrics *m = calloc(1, sizeof(*m));
	pthread_t t;
	int rc;

	*out = NULL;
	if (m) {
		m->front = calloc(1, sizeof(*m->front));
		m->back = calloc(1, sizeof(*m->back));
	}
	if (!m || !m->front || !m->back) {
		snprintf(err, errlen, "metrics: out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	pthread_mutex_init(&m->lock, NULL);
	snprintf(m->version, sizeof(m->version), "%s", version);
	m->fd = listen_on(listen, err, errlen);
	if (m->fd < 0) {
		rc = m->fd;
		goto fail;
	}
	m->thread_init = thread_init;
	rc = -pthread_create(&t, NULL, start_server, m);
	if (!rc) {
		pthread_join(t, NULL);
		rc = m->start_err;
	}
	if (rc) {
		snprintf(err, errlen, "metrics.listen: %s: cannot start the HTTP server: %s", listen,
		         strerror(-rc));
		close(m->fd);
		goto fail;
	}
	*out = m;
	return 0;
fail:
	if (m) {
		free(m->front);
		free(m->back);
	}
	free(m);
	return rc;
}

struct sg_metrics_snap *sg_metrics_next(struct sg_metrics *m)
{
	return m->back;
}

void sg_metrics_publish(struct sg_metrics *m)
{
	struct sg_metrics_snap *t;

	pthread_mutex_lock(&m->lock);
	t = m->front;
	m->front = m->back;
	m->back = t;
	m->published = true;
	pthread_mutex_unlock(&m->lock);
}

void sg_metrics_stop(struct sg_metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->mhd);    /* closes the listening socket too */
	pthread_mutex_destroy(&m->lock);
	free(m->front);
	free(m->back);
	free(m);
}
