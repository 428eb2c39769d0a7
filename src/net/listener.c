/* SPDX-License-Identifier: MIT */
/*
 * Listening sockets (see listener.h). A listen address that is a name is
 * resolved here, at start or reload, never while serving.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <unistd.h>

#include "smartconnectd/net/listener.h"
#include "smartconnectd/base/log.h"

int listener_bind(const char *what, const char *host, uint16_t port, int backlog, int *ret_fd)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICSERV | AI_PASSIVE, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	char service[8];
	int fd, r, one = 1;

	snprintf(service, sizeof(service), "%u", port);
	r = getaddrinfo(host && *host ? host : NULL, service, &hints, &ai);
	if (r != 0)
		return log_error_errno(EINVAL, "%s Listen address %s: %s", what, host ? host : "",
				       gai_strerror(r));

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		r = -errno;
	else {
		(void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, backlog) < 0) {
			r = -errno;
			close(fd);
		}
	}
	freeaddrinfo(ai);
	if (r < 0)
		return log_error_errno(r, "Cannot listen for %s on %s:%u: %m", what, host ? host : "", port);
	*ret_fd = fd;
	return 0;
}

int listener_adopt(const char *what, int fd)
{
	int flags = fcntl(fd, F_GETFL), r;

	if (flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) >= 0)
		return 0;
	r = -errno;
	close(fd);
	return log_error_errno(r, "Cannot use the %s socket from systemd: %m", what);
}

uint16_t listener_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *) &ss, &sl) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *) &ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *) &ss)->sin6_port);
	return 0;
}

void listener_peer_name(const struct sockaddr *sa, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *) sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(buf, size, "%s:%u", host, port);
}

void listener_peer_name_fd(int fd, char *buf, size_t size)
{
	struct sockaddr_storage ss = { .ss_family = AF_UNSPEC };
	socklen_t sl = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *) &ss, &sl) < 0)
		ss.ss_family = AF_UNSPEC;
	listener_peer_name((struct sockaddr *) &ss, buf, size);
}
