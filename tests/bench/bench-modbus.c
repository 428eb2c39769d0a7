/* SPDX-License-Identifier: MIT */
/*
 * Modbus TCP load client for the benchmark: N threads, each with its own
 * libmodbus connection, read COUNT holding registers (FC 0x03) at ADDR in a
 * closed loop for SECONDS and time every request with CLOCK_MONOTONIC. A short
 * warm-up is run first and not counted.
 *
 *   bench-modbus HOST PORT ADDR COUNT CLIENTS SECONDS [rtu]
 *
 * With "rtu", each connection sends RTU frames (unit id 1, CRC) over TCP, as
 * evcc's "rtu: true" does: libmodbus's RTU context on a connected TCP socket.
 *
 * Prints one line: requests=... errors=... seconds=... rps=... p50_us=... p99_us=... max_us=...
 * Exits 1 when a connection cannot be made or every request failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <modbus.h>

#define WARMUP_NSEC 200000000ULL

struct worker {
	pthread_t thread;
	modbus_t *ctx;
	uint64_t *lat_ns; /* one per counted request */
	size_t n, cap;
	unsigned long errors;
	int failed; /* errno of the last failure, 0 if none */
};

static const char *host;
static int port, addr, count;
static uint64_t duration_ns;
static pthread_barrier_t start_barrier;
static uint64_t t_start, t_warm, t_end; /* set by the first thread past the barrier */
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static int push(struct worker *w, uint64_t ns)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 65536;
		uint64_t *p = realloc(w->lat_ns, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		w->lat_ns = p;
		w->cap = cap;
	}
	w->lat_ns[w->n++] = ns;
	return 0;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	uint16_t regs[MODBUS_MAX_READ_REGISTERS];

	pthread_barrier_wait(&start_barrier);
	pthread_mutex_lock(&start_lock);
	if (!t_start) {
		t_start = now_ns();
		t_warm = t_start + WARMUP_NSEC;
		t_end = t_warm + duration_ns;
	}
	pthread_mutex_unlock(&start_lock);

	for (;;) {
		uint64_t a = now_ns(), b;

		if (a >= t_end)
			break;
		if (modbus_read_registers(w->ctx, addr, count, regs) != count) {
			w->errors++;
			w->failed = errno;
			/* A dropped connection ends this client; the others go on. */
			if (errno != EMBXILADD && errno != EMBXSBUSY && errno != EMBXGTAR)
				break;
			continue;
		}
		b = now_ns();
		if (a >= t_warm && push(w, b - a) < 0)
			break;
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

	return (x > y) - (x < y);
}

static double percentile_us(const uint64_t *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	/* Nearest rank. */
	i = (size_t) (p * (double) n + 0.999999);
	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return (double) v[i - 1] / 1000.0;
}

/* An RTU context speaking over a TCP connection to host:port (IPv4). */
static modbus_t *rtu_over_tcp(const char *h, int p)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) p) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	modbus_t *ctx;

	if (fd < 0 || inet_pton(AF_INET, h, &sa.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	(void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ctx = modbus_new_rtu("/dev/null", 9600, 'N', 8, 1);
	if (!ctx || modbus_set_slave(ctx, 1) < 0 || modbus_set_socket(ctx, fd) < 0) {
		close(fd);
		if (ctx)
			modbus_free(ctx);
		return NULL;
	}
	return ctx;
}

int main(int argc, char *argv[])
{
	struct worker *w;
	uint64_t *all;
	unsigned long errors = 0;
	size_t total = 0;
	int clients;
	double seconds;
	int rtu = argc == 8 && strcmp(argv[7], "rtu") == 0;

	if (argc != 7 && !rtu) {
		fprintf(stderr, "usage: %s HOST PORT ADDR COUNT CLIENTS SECONDS [rtu]\n", argv[0]);
		return 2;
	}
	host = argv[1];
	port = atoi(argv[2]);
	addr = (int) strtol(argv[3], NULL, 0);
	count = atoi(argv[4]);
	clients = atoi(argv[5]);
	seconds = atof(argv[6]);
	if (port <= 0 || addr < 0 || count < 1 || count > MODBUS_MAX_READ_REGISTERS || clients < 1 ||
	    seconds <= 0) {
		fprintf(stderr, "%s: invalid arguments\n", argv[0]);
		return 2;
	}
	duration_ns = (uint64_t) (seconds * 1e9);

	w = calloc((size_t) clients, sizeof(*w));
	if (!w)
		return 1;
	for (int i = 0; i < clients; i++) {
		w[i].ctx = rtu ? rtu_over_tcp(host, port) : modbus_new_tcp(host, port);
		if (!w[i].ctx || (!rtu && modbus_connect(w[i].ctx) < 0)) {
			fprintf(stderr, "client %d: cannot connect to %s:%d: %s\n", i, host, port,
				modbus_strerror(errno));
			return 1;
		}
		modbus_set_response_timeout(w[i].ctx, 2, 0);
	}

	pthread_barrier_init(&start_barrier, NULL, (unsigned) clients);
	for (int i = 0; i < clients; i++) {
		if (pthread_create(&w[i].thread, NULL, run, &w[i]) != 0) {
			fprintf(stderr, "cannot start thread %d\n", i);
			return 1;
		}
	}
	for (int i = 0; i < clients; i++) {
		pthread_join(w[i].thread, NULL);
		total += w[i].n;
		errors += w[i].errors;
	}

	all = malloc((total ? total : 1) * sizeof(*all));
	if (!all)
		return 1;
	total = 0;
	for (int i = 0; i < clients; i++) {
		if (w[i].failed)
			fprintf(stderr, "client %d: %lu errors, last: %s\n", i, w[i].errors,
				modbus_strerror(w[i].failed));
		memcpy(all + total, w[i].lat_ns, w[i].n * sizeof(*all));
		total += w[i].n;
		free(w[i].lat_ns);
		modbus_close(w[i].ctx);
		modbus_free(w[i].ctx);
	}
	qsort(all, total, sizeof(*all), cmp_u64);

	printf("requests=%zu errors=%lu seconds=%.3f rps=%.0f p50_us=%.1f p99_us=%.1f max_us=%.1f\n", total,
	       errors, seconds, (double) total / seconds, percentile_us(all, total, 0.50),
	       percentile_us(all, total, 0.99), total ? (double) all[total - 1] / 1000.0 : 0.0);
	free(all);
	free(w);
	return total ? 0 : 1;
}
