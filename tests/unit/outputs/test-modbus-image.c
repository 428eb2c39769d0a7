/* SPDX-License-Identifier: MIT */
/*
 * The register image of the RTU server on a real store: rebuilt per snapshot,
 * the verdict on each kind of request PDU, written registers, and the three
 * stale policies.
 */
#include <string.h>

#include "smartconnectd/outputs/modbus-image.h"
#include "tap.h"

#define NOW 1000000000ull /* the snapshot's time; fresh for 10 s */
#define LATER (NOW + 11000000ull)

static enum modbus_image_verdict check(struct modbus_image *img, const uint8_t *pdu, size_t len, uint64_t now,
				       uint16_t *single, uint8_t *code)
{
	*single = 0;
	*code = 0;
	return modbus_image_check(img, pdu, len, now, single, code);
}

static void test_requests(struct modbus_image *img)
{
	const struct modbus_map_ident id = { "SC1", "0.1" };
	const uint8_t read_ok[] = { 4, 0x00, 0x00, 0x00, 0x02 }, read_0[] = { 3, 0, 0, 0, 0 },
		      read_126[] = { 4, 0, 0, 0, 126 }, outside[] = { 4, 0x00, 0x50, 0x00, 0x01 },
		      short_read[] = { 3, 0, 0, 0 }, coils[] = { 1, 0, 0, 0, 1 },
		      model[] = { 3, 0x00, 0x0B, 0, 1 }, write1[] = { 6, 0xA0, 0x00, 0x00, 0x05 },
		      write_meas[] = { 6, 0x00, 0x00, 0x00, 0x05 },
		      write2[] = { 16, 0xA0, 0x00, 0x00, 0x02, 0x04, 0, 1, 0, 2 },
		      write16[] = { 16, 0xA0, 0x00, 0x00, 0x01, 0x02, 0x00, 0x09 };
	uint16_t single;
	uint8_t code;

	TAP_EQ_INT(check(img, read_ok, 5, NOW, &single, &code), MODBUS_IMAGE_REPLY, "FC 4 inside a block");
	tap_ok(check(img, read_0, 5, NOW, &single, &code) == MODBUS_IMAGE_EXCEPTION && code == 3,
	       "count 0: 3");
	tap_ok(check(img, read_126, 5, NOW, &single, &code) == MODBUS_IMAGE_EXCEPTION && code == 3, "126: 3");
	tap_ok(check(img, outside, 5, NOW, &single, &code) == MODBUS_IMAGE_EXCEPTION && code == 2,
	       "outside: 2");
	tap_ok(check(img, short_read, 4, NOW, &single, &code) == MODBUS_IMAGE_EXCEPTION && code == 3,
	       "a read PDU of 4 bytes: 3");
	tap_ok(check(img, coils, 5, NOW, &single, &code) == MODBUS_IMAGE_EXCEPTION && code == 1, "FC 1: 1");
	tap_ok(check(img, write_meas, 5, NOW, &single, &code) == MODBUS_IMAGE_EXCEPTION && code == 1,
	       "SDM630: every write gets 1");

	tap_ok(modbus_image_set(img, modbus_map_find("CarloGavazzi-EM24"), &id, MODBUS_SERVER_STALE_ERROR) ==
		   0,
	       "switch to the EM24");
	tap_ok(check(img, model, 5, NOW, &single, &code) == MODBUS_IMAGE_SINGLE && single == 1648,
	       "EM24: one-register read of 0x000B is the model code");
	TAP_EQ_INT(check(img, write1, 5, NOW, &single, &code), MODBUS_IMAGE_REPLY, "EM24: FC 6 to 0xA000");
	modbus_image_wrote(img, write1);
	tap_ok(img->map->tab_registers[0xA000] == 5 && img->map->tab_input_registers[0xA000] == 5 &&
		   img->written[0] == 5,
	       "the written value in both tables");
	tap_ok(check(img, write2, 10, NOW, &single, &code) == MODBUS_IMAGE_EXCEPTION && code == 1,
	       "FC 16 of two registers: 1");
	TAP_EQ_INT(check(img, write16, 8, NOW, &single, &code), MODBUS_IMAGE_REPLY, "FC 16 of one register");
	modbus_image_wrote(img, write16);
	TAP_EQ_INT(img->map->tab_registers[0xA000], 9, "FC 16's value kept");
	tap_ok(modbus_image_set(img, modbus_map_find("CarloGavazzi-EM24"), &id, MODBUS_SERVER_STALE_ERROR) ==
		       0 &&
		   img->map->tab_registers[0xA000] == 9,
	       "the same template again keeps what was written");
}

static void test_stale(struct modbus_image *img, struct store *store)
{
	const struct modbus_map_ident id = { "SC1", "0.1" };
	const uint8_t read_p[] = { 4, 0x00, 0x34, 0x00, 0x02 };
	uint16_t single, p_hi;
	uint8_t code;

	(void) modbus_image_set(img, modbus_map_find("Eastron-SDM630"), &id, MODBUS_SERVER_STALE_ERROR);
	p_hi = img->map->tab_input_registers[0x34];
	tap_ok(p_hi != 0, "SDM630: P in the image");
	tap_ok(check(img, read_p, 5, LATER, &single, &code) == MODBUS_IMAGE_EXCEPTION && code == 0x0B,
	       "stale, policy error: 0x0B");
	(void) modbus_image_set(img, img->template, &id, MODBUS_SERVER_STALE_KEEP);
	tap_ok(check(img, read_p, 5, LATER, &single, &code) == MODBUS_IMAGE_REPLY &&
		   img->map->tab_input_registers[0x34] == p_hi,
	       "stale, policy keep: the old value");
	(void) modbus_image_set(img, img->template, &id, MODBUS_SERVER_STALE_ZERO);
	tap_ok(check(img, read_p, 5, LATER, &single, &code) == MODBUS_IMAGE_REPLY &&
		   img->map->tab_input_registers[0x34] == 0 && img->map->tab_registers[0xFC02] == 112,
	       "stale, policy zero: measurements 0, identification kept");
	(void) store_publish(store, store_current(store) ? &store_current(store)->v : NULL, LATER, 2);
	tap_ok(check(img, read_p, 5, LATER, &single, &code) == MODBUS_IMAGE_REPLY &&
		   img->map->tab_input_registers[0x34] == p_hi && !img->zeroed,
	       "the next telegram: values again");
}

int main(void)
{
	const struct modbus_map_ident id = { "SC1", "0.1" };
	struct store *store = NULL;
	const uint8_t read_p[] = { 4, 0x00, 0x34, 0x00, 0x02 };
	struct modbus_image img;
	struct reading v = { 0 };
	uint16_t single;
	uint8_t code;

	if (store_new(10000000ull, &store) < 0)
		return 1;
	tap_ok(modbus_image_init(&img, store, modbus_map_find("Eastron-SDM630"), &id,
				 MODBUS_SERVER_STALE_ERROR) == 0,
	       "image on the store");
	tap_ok(img.zeroed && img.map->tab_input_registers[0x34] == 0, "no snapshot yet: no values");
	v.valid = 1u << READING_P;
	v.field[READING_P] = 1234 * READING_SCALE;
	(void) store_publish(store, &v, NOW, 1);
	tap_ok(img.zeroed && img.map->tab_input_registers[0x34] == 0,
	       "a snapshot, no read yet: the image is not touched");
	TAP_EQ_INT(check(&img, read_p, 5, NOW, &single, &code), MODBUS_IMAGE_REPLY, "a read of P");
	tap_ok(!img.zeroed && img.map->tab_input_registers[0x34] == 0x449A,
	       "the read brought the snapshot: P 1234 W as float ABCD");
	v.field[READING_P] = 2468 * READING_SCALE;
	(void) store_publish(store, &v, NOW, 2);
	TAP_EQ_INT(check(&img, read_p, 5, NOW, &single, &code), MODBUS_IMAGE_REPLY,
		   "a read after the next telegram");
	tap_ok(img.map->tab_input_registers[0x34] == 0x451A, "the newer telegram's P, 2468 W");
	v.field[READING_P] = 1234 * READING_SCALE;
	(void) store_publish(store, &v, NOW, 3);
	(void) check(&img, read_p, 5, NOW, &single, &code);
	test_requests(&img);
	test_stale(&img, store);
	modbus_image_done(&img);
	modbus_image_done(&img);
	tap_ok(img.map == NULL && img.written == NULL, "done twice is safe");
	store_free(store);
	return tap_done();
}
