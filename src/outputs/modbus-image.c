/* SPDX-License-Identifier: MIT */
/*
 * The register image of a Modbus server (see modbus-image.h). The rules are
 * those of the TCP server: reads only inside the template's blocks, at most
 * 125 registers, exception 0x0B or zeros or old values while stale, writes
 * only to the template's writable registers, one register each.
 */
#include <errno.h>
#include <stdlib.h>

#include "smartconnectd/outputs/modbus-image.h"

static void image_fill(struct modbus_image *img, const struct reading *v)
{
	modbus_map_fill(img->template, v, &img->ident, img->written, img->map->tab_input_registers,
			img->map->tab_registers);
}

/* Brought up to the store's snapshot at a read, not at every telegram: a
 * meter sending every second costs nothing while no client asks, and every
 * answer still comes from one telegram. */
static void image_sync(struct modbus_image *img)
{
	const struct snapshot *snap = store_current(img->store);

	if (!snap || (snap->generation == img->generation && !img->zeroed))
		return;
	image_fill(img, &snap->v);
	img->generation = snap->generation;
	img->zeroed = false;
}

static void image_refill(struct modbus_image *img)
{
	const struct snapshot *snap = store_current(img->store);

	image_fill(img, snap ? &snap->v : NULL);
	img->generation = snap ? snap->generation : 0;
	img->zeroed = !snap;
}

static int image_reset_written(struct modbus_image *img)
{
	const struct modbus_map_template *t = img->template;
	uint16_t *w = calloc(MAX(t->n_writable, (size_t) 1), sizeof(uint16_t));

	if (!w)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_writable; i++)
		w[i] = t->writable[i].initial;
	free(img->written);
	img->written = w;
	return 0;
}

int modbus_image_init(struct modbus_image *img, struct store *store, const struct modbus_map_template *t,
		      const struct modbus_map_ident *ident, enum modbus_server_stale_policy policy)
{
	*img = (struct modbus_image){
		.store = store,
		.template = t,
		.ident = *ident,
		.stale_policy = policy,
	};
	img->map = modbus_mapping_new_start_address(0, 0, 0, 0, 0, MODBUS_MAP_SIZE, 0, MODBUS_MAP_SIZE);
	if (!img->map || image_reset_written(img) < 0) {
		modbus_image_done(img);
		return -ENOMEM;
	}
	image_refill(img);
	return 0;
}

void modbus_image_done(struct modbus_image *img)
{
	if (img->map)
		modbus_mapping_free(img->map);
	img->map = NULL;
	free(img->written);
	img->written = NULL;
}

int modbus_image_set(struct modbus_image *img, const struct modbus_map_template *t,
		     const struct modbus_map_ident *ident, enum modbus_server_stale_policy policy)
{
	bool new_template = t != img->template;

	img->template = t;
	img->ident = *ident;
	img->stale_policy = policy;
	if (new_template && image_reset_written(img) < 0)
		return -ENOMEM;
	image_refill(img);
	return 0;
}

/* True when the request must get exception 0x0B; with policy zero the image
 * loses its measurements until the next telegram. */
static bool image_stale(struct modbus_image *img, uint64_t now)
{
	if (!store_is_stale(img->store, now) || img->stale_policy == MODBUS_SERVER_STALE_KEEP) {
		image_sync(img);
		return false;
	}
	if (img->stale_policy == MODBUS_SERVER_STALE_ERROR)
		return true;
	if (!img->zeroed) {
		image_fill(img, NULL);
		img->zeroed = true;
	}
	return false;
}

static enum modbus_image_verdict image_exception(uint8_t *code, uint8_t c)
{
	*code = c;
	return MODBUS_IMAGE_EXCEPTION;
}

static enum modbus_image_verdict image_check_read(struct modbus_image *img, const uint8_t *pdu, size_t len,
						  uint64_t now, uint16_t *single, uint8_t *code)
{
	unsigned addr = (unsigned) pdu[1] << 8 | pdu[2], count = (unsigned) pdu[3] << 8 | pdu[4];

	if (len != 5 || count < 1 || count > MODBUS_MAX_READ_REGISTERS)
		return image_exception(code, MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE);
	if (!modbus_map_readable(img->template, addr, count))
		return image_exception(code, MODBUS_EXCEPTION_ILLEGAL_DATA_ADDRESS);
	if (image_stale(img, now))
		return image_exception(code, MODBUS_EXCEPTION_GATEWAY_TARGET);
	if (count == 1 && modbus_map_single_read(img->template, addr, single))
		return MODBUS_IMAGE_SINGLE;
	return MODBUS_IMAGE_REPLY;
}

enum modbus_image_verdict modbus_image_check(struct modbus_image *img, const uint8_t *pdu, size_t len,
					     uint64_t now, uint16_t *single, uint8_t *code)
{
	bool multiple;

	if (len < 1)
		return image_exception(code, MODBUS_EXCEPTION_ILLEGAL_FUNCTION);
	switch (pdu[0]) {
	case MODBUS_FC_READ_HOLDING_REGISTERS:
	case MODBUS_FC_READ_INPUT_REGISTERS:
		if (len < 5)
			return image_exception(code, MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE);
		return image_check_read(img, pdu, len, now, single, code);
	case MODBUS_FC_WRITE_SINGLE_REGISTER:
	case MODBUS_FC_WRITE_MULTIPLE_REGISTERS:
		/* Only a register the template's readers write and read back, one at a time. */
		multiple = pdu[0] == MODBUS_FC_WRITE_MULTIPLE_REGISTERS;
		if (len < 5 ||
		    modbus_map_writable_index(img->template, (unsigned) pdu[1] << 8 | pdu[2]) < 0 ||
		    (multiple && (len != 8 || pdu[3] != 0 || pdu[4] != 1 || pdu[5] != 2)) ||
		    (!multiple && len != 5))
			return image_exception(code, MODBUS_EXCEPTION_ILLEGAL_FUNCTION);
		return MODBUS_IMAGE_REPLY;
	default:
		/* Coils, discrete inputs, diagnostics, ...: a meter has none. */
		return image_exception(code, MODBUS_EXCEPTION_ILLEGAL_FUNCTION);
	}
}

void modbus_image_wrote(struct modbus_image *img, const uint8_t *pdu)
{
	unsigned addr = (unsigned) pdu[1] << 8 | pdu[2];
	int idx = modbus_map_writable_index(img->template, addr);
	uint16_t value = pdu[0] == MODBUS_FC_WRITE_MULTIPLE_REGISTERS ? (uint16_t) (pdu[6] << 8 | pdu[7])
								      : (uint16_t) (pdu[3] << 8 | pdu[4]);

	if (idx < 0)
		return;
	img->written[idx] = value;
	img->map->tab_registers[addr] = value;
	img->map->tab_input_registers[addr] = value;
}
