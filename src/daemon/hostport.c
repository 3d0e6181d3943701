/* Address literal and port (see hostport.h). */
#include "daemon/hostport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#define EXAMPLE "write ADDRESS:PORT, e.g. \"127.0.0.1:9477\" or \"[::1]:9477\""

static int fail(char *why, size_t whylen, const char *what)
{
	snprintf(why, whylen, "%s", what);
	return -EINVAL;
}

/* Decimal digits only, 1..65535. */
static int port_of(const char *s, unsigned *port)
{
	unsigned long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return -1;
	}
	*port = (unsigned)v;
	return v ? 0 : -1;
}

int sg_hostport_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len,
                      char *why, size_t whylen)
{
	char host[INET6_ADDRSTRLEN];
	const char *colon, *h = text;
	size_t hlen;
	unsigned port;

	memset(ss, 0, sizeof(*ss));
	if (text[0] == '[') {
		const char *end = strchr(text, ']');

		if (!end || end[1] != ':')
			return fail(why, whylen, "an IPv6 address goes in brackets: " EXAMPLE);
		h = text + 1;
		hlen = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return fail(why, whylen, "no port: " EXAMPLE);
		if (memchr(text, ':', (size_t)(colon - text)))
			return fail(why, whylen, "an IPv6 address goes in brackets: " EXAMPLE);
		hlen = (size_t)(colon - text);
	}
	if (port_of(colon + 1, &port))
		return fail(why, whylen, "the port must be a number 1..65535: " EXAMPLE);
	if (hlen == 0 || hlen >= sizeof(host))
		return fail(why, whylen, "no address: " EXAMPLE);
	memcpy(host, h, hlen);
	host[hlen] = 0;
	if (text[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return fail(why, whylen, "not an IPv6 address literal: " EXAMPLE);
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return fail(why, whylen, "not an IPv4 address literal (no names): " EXAMPLE);
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		*len = sizeof(*a);
	}
	return 0;
}
