/* SPDX-License-Identifier: MIT */
/*
 * A register image for a Modbus server that is not the TCP one: the template's
 * words built from the store's snapshot once per telegram (modbus-map), the
 * stale policy, the values clients wrote, and the checks of a request's PDU
 * that decide between libmodbus's answer, an exception and the one-register
 * special reads. The framing (RTU, CRC, the line) stays with the server.
 *
 * Talks to modbus-map and the store. No I/O, never logs.
 */
#pragma once

#include <modbus.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/store.h"
#include "smartconnectd/outputs/modbus-map.h"
#include "smartconnectd/outputs/modbus-server.h"

struct modbus_image {
	struct store *store; /* borrowed */
	const struct modbus_map_template *template;
	struct modbus_map_ident ident; /* strings borrowed */
	enum modbus_server_stale_policy stale_policy;
	modbus_mapping_t *map; /* FC 0x03 tab_registers, FC 0x04 tab_input_registers */
	uint16_t *written;     /* current values of the template's writable registers */
	uint64_t generation;   /* of the snapshot in the image; 0 = none */
	bool zeroed;           /* the image shows no measurements */
};

/* What to do with a request. */
enum modbus_image_verdict {
	MODBUS_IMAGE_REPLY,     /* modbus_reply() from map; then modbus_image_wrote() for a write */
	MODBUS_IMAGE_SINGLE,    /* the one-register value in *single */
	MODBUS_IMAGE_EXCEPTION, /* the exception code in *code */
};

/* -ENOMEM or 0; the image then holds the store's current snapshot, and each
 * read request (modbus_image_check()) brings it up to the newest one. */
int modbus_image_init(struct modbus_image *img, struct store *store, const struct modbus_map_template *t,
		      const struct modbus_map_ident *ident, enum modbus_server_stale_policy policy);
void modbus_image_done(struct modbus_image *img); /* safe on a zeroed or half-initialised image */

/* New template, identity or policy; a new template forgets what clients wrote. -ENOMEM or 0. */
int modbus_image_set(struct modbus_image *img, const struct modbus_map_template *t,
		     const struct modbus_map_ident *ident, enum modbus_server_stale_policy policy);

/* The verdict on a request PDU (function code first, no CRC), at time now. */
enum modbus_image_verdict modbus_image_check(struct modbus_image *img, const uint8_t *pdu, size_t len,
					     uint64_t now, uint16_t *single, uint8_t *code);

/* After libmodbus answered a write the check allowed: keep the value for both tables. */
void modbus_image_wrote(struct modbus_image *img, const uint8_t *pdu);
