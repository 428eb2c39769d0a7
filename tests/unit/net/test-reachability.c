/* SPDX-License-Identifier: MIT */
/*
 * The reachability checks on a real sd-event loop against loopback targets:
 * a listening port (by address and by name) and a closed one answer (a refusal is an answer); a port
 * whose accept queue is full drops the SYN and, probed over TCP, fails with
 * "no answer", never before its timeout although the answer is first looked
 * for on a later wake. Where ICMP echo sockets are allowed, every loopback
 * target answers the echo instead: then each case must pass.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "smartconnectd/net/reachability.h"
#include "tap.h"

#define PROBE_TIMEOUT_USEC (3 * USEC_PER_SEC) /* reachability.c's */

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* A loopback listener with the given backlog; its port in *port. */
static int listener(int backlog, uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *) &a, len) < 0 || listen(fd, backlog) < 0 ||
	    getsockname(fd, (struct sockaddr *) &a, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static int connect_to(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Probe host on port once; run the loop until the probe finished (or
 * 10 s). Returns the result (1, 0, -1) and how long it took in *took. */
static int probe_once(sd_event *e, const char *host, uint16_t port, uint64_t *took, char *method, size_t size)
{
	struct reachability *n = NULL;
	struct reachability_settings s = {
		.gateway = "", .internet = host, .internet_port = port, .interval_usec = 60 * USEC_PER_SEC
	};
	uint64_t t0 = now_usec();
	int r = -1;

	if (reachability_new(e, &n) < 0 || reachability_start(n, &s) < 0)
		goto out;
	while (now_usec() < t0 + 10 * USEC_PER_SEC) {
		const struct reachability_counters *c = reachability_counters(n);

		if (c->internet_pass + c->internet_fail > 0)
			break;
		if (sd_event_run(e, 100 * 1000) < 0)
			break;
	}
	*took = now_usec() - t0;
	r = reachability_internet_reachable(n);
	snprintf(method, size, "%s", reachability_method(n));
out:
	reachability_free(n);
	return r;
}

int main(void)
{
	sd_event *e = NULL;
	uint16_t open_port = 0, full_port = 0, closed_port = 0;
	int open_fd, full_fd, filler, closed_fd;
	uint64_t took = 0;
	char method[8] = "";
	int r;

	if (sd_event_new(&e) < 0)
		return tap_ok(false, "sd_event_new"), tap_done();

	open_fd = listener(16, &open_port);
	r = probe_once(e, "127.0.0.1", open_port, &took, method, sizeof(method));
	tap_ok(r == 1, "a listening port answers: reachable (%d, %s)", r, method);
	/* A name goes through the resolver's thread, its answer taken on a later wake. */
	r = probe_once(e, "localhost", open_port, &took, method, sizeof(method));
	tap_ok(r == 1, "by name (localhost): reachable (%d, %s, %llu ms)", r, method,
	       (unsigned long long) (took / 1000));

	closed_fd = listener(1, &closed_port);
	close(closed_fd); /* the port is free again: a connect is refused */
	r = probe_once(e, "127.0.0.1", closed_port, &took, method, sizeof(method));
	tap_ok(r == 1, "a closed port refuses, which is an answer: reachable (%d, %s)", r, method);

	/* Backlog 0 holds one connection; the filler takes it, the probe's SYN is dropped. */
	full_fd = listener(0, &full_port);
	filler = full_fd >= 0 ? connect_to(full_port) : -1;
	tap_ok(full_fd >= 0 && filler >= 0, "a listener with a full accept queue");
	r = probe_once(e, "127.0.0.1", full_port, &took, method, sizeof(method));
	if (strcmp(method, "tcp") == 0) {
		tap_ok(r == 0, "a dropped SYN: not reachable (%d)", r);
		tap_ok(took >= PROBE_TIMEOUT_USEC, "failed at the timeout, not before (%llu ms)",
		       (unsigned long long) (took / 1000));
	} else {
		tap_ok(r == 1, "ICMP echo on loopback answers: reachable (%d, %s)", r, method);
		tap_ok(took < PROBE_TIMEOUT_USEC, "answered before the timeout (%llu ms)",
		       (unsigned long long) (took / 1000));
	}

	{
		struct reachability *n = NULL;
		struct reachability_settings none = { .gateway = "", .internet = "", .interval_usec = 0 };

		tap_ok(reachability_new(e, &n) == 0 && reachability_start(n, &none) == 0 &&
			   reachability_gateway_reachable(n) == -1 &&
			   reachability_internet_reachable(n) == -1,
		       "nothing configured: nothing probed, both unknown");
		reachability_free(n);
	}

	if (filler >= 0)
		close(filler);
	if (full_fd >= 0)
		close(full_fd);
	if (open_fd >= 0)
		close(open_fd);
	sd_event_unref(e);
	return tap_done();
}
