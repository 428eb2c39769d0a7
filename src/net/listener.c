/* SPDX-License-Identifier: MIT */
/*
 * Listening sockets (see listener.h). A listen address that is a name is
 * resolved here with getaddrinfo(), at start or reload: the loop waits for
 * that lookup, so numeric addresses (the defaults) are what a gateway should
 * use; the lookup never happens while connections are being served.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
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

/* The address bytes of sa, IPv4-mapped IPv6 as IPv4: its family, or AF_UNSPEC. */
static uint8_t listener_addr_bytes(const struct sockaddr *sa, const uint8_t **ret_addr)
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (sa->sa_family == AF_INET) {
		*ret_addr = (const uint8_t *) &((const struct sockaddr_in *) sa)->sin_addr;
		return AF_INET;
	}
	if (sa->sa_family != AF_INET6)
		return AF_UNSPEC;
	*ret_addr = ((const struct sockaddr_in6 *) sa)->sin6_addr.s6_addr;
	if (memcmp(*ret_addr, v4mapped, sizeof(v4mapped)) != 0)
		return AF_INET6;
	*ret_addr += sizeof(v4mapped);
	return AF_INET;
}

bool listener_allowed(const struct listener_allow *a, const struct sockaddr *sa)
{
	const uint8_t *addr = NULL;
	uint8_t family;

	if (a->n == 0)
		return true;
	family = listener_addr_bytes(sa, &addr);
	if (family == AF_UNSPEC)
		return false;

	for (uint32_t i = 0; i < a->n; i++) {
		const struct listener_cidr *c = &a->cidr[i];
		unsigned whole = c->prefix / 8, rest = c->prefix % 8;

		if (c->family != family || memcmp(c->addr, addr, whole) != 0)
			continue;
		if (rest == 0 || ((c->addr[whole] ^ addr[whole]) & (uint8_t) (0xff << (8 - rest))) == 0)
			return true;
	}
	return false;
}

struct listener_source listener_source_of(const struct sockaddr *sa)
{
	struct listener_source s = { .family = AF_UNSPEC };
	const uint8_t *addr = NULL;

	s.family = listener_addr_bytes(sa, &addr);
	if (s.family == AF_INET)
		memcpy(s.addr, addr, 4);
	else if (s.family == AF_INET6)
		memcpy(s.addr, addr, 8); /* the /64 */
	return s;
}

int listener_set_priority(sd_event_source *listen_io)
{
	return sd_event_source_set_priority(listen_io, SD_EVENT_PRIORITY_NORMAL + 1);
}

static void listener_refuse(const struct listener_gate *g, struct log_summary *log, int fd, const char *peer,
			    const char *why)
{
	(*g->refused)++;
	if (log_summary_event(log))
		log_warning("Refusing %s client %s: %s; %s", g->what, peer, why, g->note);
	close(fd);
}

void listener_accept(int listen_fd, const struct listener_gate *g, listener_client_fn fn, void *userdata)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char peer[INET6_ADDRSTRLEN + 8], why[64];
		int fd = accept4(listen_fd, (struct sockaddr *) &ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			/* "Modbus accept failed", "Passthrough accept failed" */
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warning_errno(errno, "%c%s accept failed, ignoring: %m",
						  toupper((unsigned char) g->what[0]), g->what + 1);
			return;
		}
		listener_peer_name((struct sockaddr *) &ss, peer, sizeof(peer));
		if (g->allow && !listener_allowed(g->allow, (struct sockaddr *) &ss))
			listener_refuse(g, g->denied_log, fd, peer, "not in AllowFrom");
		else if (*g->n_clients >= g->max_clients) {
			snprintf(why, sizeof(why), "%u clients connected (MaxClients)", *g->n_clients);
			listener_refuse(g, g->full_log, fd, peer, why);
		} else
			fn(fd, (struct sockaddr *) &ss, peer, userdata);
	}
}
