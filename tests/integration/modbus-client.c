/* SPDX-License-Identifier: MIT */
/*
 * A small libmodbus client for the integration tests: one request to a Modbus
 * TCP server on 127.0.0.1, the answer on stdout.
 *
 *   modbus-client PORT UNIT read FC ADDR COUNT   registers, decimal, one line
 *   modbus-client PORT UNIT write ADDR VALUE     FC 0x06
 *
 * Exit status: 0 answered; 3 Modbus exception ("exception N" on stdout);
 * 1 any other failure (message on stderr); 2 usage.
 */
#include <errno.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int number(const char *s, long min, long max, long *ret)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(s, &end, 0);
	if (errno || end == s || *end || x < min || x > max)
		return -1;
	*ret = x;
	return 0;
}

static int failed(modbus_t *ctx, const char *what)
{
	int e = errno;

	if (e > MODBUS_ENOBASE && e < MODBUS_ENOBASE + 0x100) {
		printf("exception %d\n", e - MODBUS_ENOBASE);
		modbus_close(ctx);
		modbus_free(ctx);
		return 3;
	}
	fprintf(stderr, "modbus-client: %s: %s\n", what, modbus_strerror(e));
	modbus_close(ctx);
	modbus_free(ctx);
	return 1;
}

int main(int argc, char **argv)
{
	long port, unit, fc = 0, addr, count = 0, value = 0;
	uint16_t regs[MODBUS_MAX_READ_REGISTERS];
	modbus_t *ctx;
	int n;

	if (argc < 4 || number(argv[1], 1, 65535, &port) < 0 || number(argv[2], 0, 255, &unit) < 0)
		goto usage;
	if (strcmp(argv[3], "read") == 0) {
		if (argc != 7 || number(argv[4], 3, 4, &fc) < 0 || number(argv[5], 0, 65535, &addr) < 0 ||
		    number(argv[6], 1, MODBUS_MAX_READ_REGISTERS, &count) < 0)
			goto usage;
	} else if (strcmp(argv[3], "write") == 0) {
		if (argc != 6 || number(argv[4], 0, 65535, &addr) < 0 ||
		    number(argv[5], 0, 65535, &value) < 0)
			goto usage;
	} else
		goto usage;

	ctx = modbus_new_tcp("127.0.0.1", (int) port);
	if (!ctx) {
		fprintf(stderr, "modbus-client: %s\n", modbus_strerror(errno));
		return 1;
	}
	modbus_set_response_timeout(ctx, 10, 0);
	if (modbus_set_slave(ctx, (int) unit) < 0 || modbus_connect(ctx) < 0)
		return failed(ctx, "connect");

	if (fc == 3 || fc == 4) {
		n = fc == 3 ? modbus_read_registers(ctx, (int) addr, (int) count, regs)
			    : modbus_read_input_registers(ctx, (int) addr, (int) count, regs);
		if (n < 0)
			return failed(ctx, "read");
		for (int i = 0; i < n; i++)
			printf("%s%u", i ? " " : "", (unsigned) regs[i]);
		printf("\n");
	} else {
		if (modbus_write_register(ctx, (int) addr, (uint16_t) value) < 0)
			return failed(ctx, "write");
		printf("written\n");
	}
	modbus_close(ctx);
	modbus_free(ctx);
	return 0;

usage:
	fprintf(stderr, "usage: modbus-client PORT UNIT read FC ADDR COUNT | PORT UNIT write ADDR VALUE\n");
	return 2;
}
