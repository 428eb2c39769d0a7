/* SPDX-License-Identifier: MIT */
/*
 * LD_PRELOAD guard for the integration tests: the daemon under test may send
 * IP packets to loopback only (127.0.0.0/8, ::1) and to the networks a test
 * lists in NETGUARD_ALLOW (CIDRs of the network namespaces it made itself,
 * comma-separated). Any other destination of connect(), sendto() or sendmsg()
 * is refused with ENETUNREACH, so nothing leaves the machine, and recorded as
 * one line in the file NETGUARD_LOG, which the harness turns into a failed
 * check. Other address families (AF_UNIX, AF_NETLINK) pass untouched.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

static bool v4_in(uint32_t addr, const char *cidr)
{
	char buf[64];
	char *slash;
	struct in_addr net;
	unsigned bits = 32;

	snprintf(buf, sizeof(buf), "%s", cidr);
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		bits = (unsigned) atoi(slash + 1);
	}
	if (bits > 32 || inet_pton(AF_INET, buf, &net) != 1)
		return false;
	uint32_t mask = bits ? htonl(~0U << (32 - bits)) : 0;
	return (addr & mask) == (net.s_addr & mask);
}

static bool v4_allowed(uint32_t addr)
{
	const char *list = getenv("NETGUARD_ALLOW");
	char buf[512], *save = NULL;

	if (v4_in(addr, "127.0.0.0/8") || addr == htonl(INADDR_ANY))
		return true;
	if (!list)
		return false;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *c = strtok_r(buf, ",", &save); c; c = strtok_r(NULL, ",", &save))
		if (v4_in(addr, c))
			return true;
	return false;
}

static bool allowed(const struct sockaddr *sa, char *what, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (!sa)
		return true;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *) sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(what, size, "%s:%u", host, ntohs(in->sin_port));
		return v4_allowed(in->sin_addr.s_addr);
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;
		uint32_t v4;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(what, size, "[%s]:%u", host, ntohs(in6->sin6_port));
		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) || IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
			return true;
		if (!IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			return false;
		memcpy(&v4, &in6->sin6_addr.s6_addr[12], 4);
		return v4_allowed(v4);
	}
	return true;
}

static int refuse(const char *call, const char *what)
{
	const char *path = getenv("NETGUARD_LOG");
	char line[256];
	int fd, n;

	if (path && (fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) >= 0) {
		n = snprintf(line, sizeof(line), "pid %d: %s to %s refused\n", (int) getpid(), call, what);
		if (n > 0)
			(void) !write(fd, line, (size_t) n);
		close(fd);
	}
	errno = ENETUNREACH;
	return -1;
}

EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	static int (*real)(int, const struct sockaddr *, socklen_t);
	char what[96];

	if (!allowed(sa, what, sizeof(what)))
		return refuse("connect", what);
	if (!real)
		real = (int (*)(int, const struct sockaddr *, socklen_t)) dlsym(RTLD_NEXT, "connect");
	return real(fd, sa, len);
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa, socklen_t len)
{
	static ssize_t (*real)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	char what[96];

	if (!allowed(sa, what, sizeof(what)))
		return refuse("sendto", what);
	if (!real)
		real = (ssize_t(*)(int, const void *, size_t, int, const struct sockaddr *, socklen_t)) dlsym(
		    RTLD_NEXT, "sendto");
	return real(fd, buf, n, flags, sa, len);
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	static ssize_t (*real)(int, const struct msghdr *, int);
	char what[96];

	if (msg && !allowed(msg->msg_name, what, sizeof(what)))
		return refuse("sendmsg", what);
	if (!real)
		real = (ssize_t(*)(int, const struct msghdr *, int)) dlsym(RTLD_NEXT, "sendmsg");
	return real(fd, msg, flags);
}
