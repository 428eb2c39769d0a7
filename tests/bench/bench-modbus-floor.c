/* SPDX-License-Identifier: MIT */
/*
 * The floor for the Modbus benchmark: the least a libmodbus TCP server can do.
 * One thread, a blocking select() loop over the listener and its clients, and
 * for each request modbus_receive and modbus_reply on a plain mapping of
 * registers 0x0000-0x00FF (holding and input). No framing of its own, no
 * checks, no event loop: what the daemon is measured against.
 *
 *   bench-modbus-floor [PORT]     (0 or none: a free port)
 *
 * Prints "port N" on stdout once it listens, then serves until killed.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <modbus.h>

#define N_REGISTERS 0x100
#define BACKLOG 64

static unsigned bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *) &ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *) &ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *) &ss)->sin6_port);
	return 0;
}

int main(int argc, char *argv[])
{
	uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
	modbus_mapping_t *map;
	modbus_t *ctx;
	fd_set refset;
	int listen_fd, fdmax, port = 0;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [PORT]\n", argv[0]);
		return 2;
	}
	if (argc == 2)
		port = atoi(argv[1]);
	signal(SIGPIPE, SIG_IGN);

	ctx = modbus_new_tcp("127.0.0.1", port);
	if (!ctx) {
		fprintf(stderr, "modbus_new_tcp: %s\n", modbus_strerror(errno));
		return 1;
	}
	map = modbus_mapping_new(0, 0, N_REGISTERS, N_REGISTERS);
	if (!map) {
		fprintf(stderr, "modbus_mapping_new: %s\n", modbus_strerror(errno));
		return 1;
	}
	for (unsigned i = 0; i < N_REGISTERS; i++)
		map->tab_registers[i] = map->tab_input_registers[i] = (uint16_t) (0x4000 + i);

	listen_fd = modbus_tcp_listen(ctx, BACKLOG);
	if (listen_fd < 0) {
		fprintf(stderr, "modbus_tcp_listen: %s\n", modbus_strerror(errno));
		return 1;
	}
	printf("port %u\n", bound_port(listen_fd));
	fflush(stdout);

	FD_ZERO(&refset);
	FD_SET(listen_fd, &refset);
	fdmax = listen_fd;

	for (;;) {
		fd_set rdset = refset;

		if (select(fdmax + 1, &rdset, NULL, NULL, NULL) < 0) {
			if (errno == EINTR)
				continue;
			perror("select");
			return 1;
		}

		for (int fd = 0; fd <= fdmax; fd++) {
			if (!FD_ISSET(fd, &rdset))
				continue;

			if (fd == listen_fd) {
				int s = listen_fd;
				int cfd = modbus_tcp_accept(ctx, &s);

				if (cfd < 0)
					continue;
				if (cfd >= FD_SETSIZE) {
					close(cfd);
					continue;
				}
				FD_SET(cfd, &refset);
				if (cfd > fdmax)
					fdmax = cfd;
				continue;
			}

			modbus_set_socket(ctx, fd);
			int rc = modbus_receive(ctx, query);
			if (rc > 0) {
				modbus_reply(ctx, query, rc, map);
			} else if (rc < 0) {
				close(fd);
				FD_CLR(fd, &refset);
				while (fdmax > listen_fd && !FD_ISSET(fdmax, &refset))
					fdmax--;
			}
		}
	}
}
