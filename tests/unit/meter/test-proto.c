/* SPDX-License-Identifier: MIT */
/* The protocol driver table: every row complete and consistent, names and
 * enum values round-trip, and the settings derived from it for Protocol=. */
#include <string.h>

#include "smartconnectd/meter/proto.h"
#include "tap.h"

static void check_row(enum reading_protocol p, const struct proto_driver *d, unsigned *hunt_seen)
{
	const char *name = d->name ? d->name : "?";

	tap_ok(d->id == p, "%s: row %d holds its own id", name, (int) p);
	tap_ok(d->name && d->name[0] && d->title && d->title[0], "%s: has a name and a title", name);
	tap_ok(d->hunt && (d->hunt & (d->hunt - 1)) == 0, "%s: one hunt bit (0x%x)", name, d->hunt);
	tap_ok(!(d->hunt & *hunt_seen), "%s: hunt bit not shared with another row", name);
	*hunt_seen |= d->hunt;
	tap_ok((d->hunt & ~(unsigned) TELEGRAM_HUNT_ALL) == 0, "%s: the framer knows its hunt bit", name);
	tap_ok(d->decode != NULL && d->object_kind != NULL, "%s: has decode and object_kind", name);
	tap_ok(d->settings && d->n_settings > 0, "%s: has serial settings", name);
	for (size_t i = 0; i < d->n_settings; i++)
		tap_ok(tty_setting_to_string(d->settings[i]) != NULL, "%s: serial setting %zu is known", name,
		       i);

	TAP_EQ_INT(proto_from_name(d->name), p, "name -> enum");
	TAP_EQ_STR(reading_protocol_to_string(p), d->name, "enum -> reading name");
	TAP_EQ_INT(reading_protocol_from_string(d->name), p, "reading name -> enum");
	TAP_EQ_STR(proto_setting_to_string(p), d->name, "enum -> setting name");
	TAP_EQ_INT(proto_setting_hunt(p), d->hunt, "a fixed protocol hunts only for itself");
}

static void test_table(void)
{
	unsigned hunt_seen = 0;
	size_t rows = 0;

	tap_ok(proto_driver(READING_PROTO_NONE) == NULL, "no driver for NONE");
	tap_ok(proto_driver(_READING_PROTO_MAX) == NULL, "no driver out of range");
	for (unsigned p = READING_PROTO_NONE + 1; p < _READING_PROTO_MAX; p++) {
		const struct proto_driver *d = proto_driver((enum reading_protocol) p);

		tap_ok(d != NULL, "protocol %u has a driver", p);
		if (d) {
			check_row((enum reading_protocol) p, d, &hunt_seen);
			rows++;
		}
	}
	TAP_EQ_INT(rows, 3, "three drivers");
	TAP_EQ_INT(hunt_seen, TELEGRAM_HUNT_ALL, "the rows cover every hunt bit");
	tap_ok(proto_driver(READING_PROTO_DSMR) == &proto_dsmr, "DSMR row is proto_dsmr");
}

static void test_names(void)
{
	TAP_EQ_INT(proto_from_name("TIC-Standard"), READING_PROTO_TIC_STANDARD, "names are case-insensitive");
	TAP_EQ_INT(proto_from_name("auto"), _READING_PROTO_MAX, "auto is no driver");
	TAP_EQ_INT(proto_from_name("sml"), _READING_PROTO_MAX, "unknown name");
	tap_ok(proto_from_name(NULL) == _READING_PROTO_MAX, "NULL name");
	TAP_EQ_STR(proto_setting_to_string(READING_PROTO_NONE), "auto", "NONE as a setting is auto");
	TAP_EQ_STR(reading_protocol_to_string(READING_PROTO_NONE), "none", "NONE in a reading is none");
	tap_ok(proto_setting_to_string(_READING_PROTO_MAX) == NULL, "no setting name out of range");
}

static void test_settings(void)
{
	enum tty_setting s[_TTY_SETTING_MAX];
	size_t n;

	TAP_EQ_INT(proto_setting_hunt(READING_PROTO_NONE), TELEGRAM_HUNT_ALL, "auto hunts for everything");

	n = proto_setting_serial(READING_PROTO_NONE, s);
	tap_ok(n == 3 && s[0] == TTY_SETTING_115200_8N1 && s[1] == TTY_SETTING_9600_7E1 &&
		   s[2] == TTY_SETTING_1200_7E1,
	       "auto tries 115200 8N1, 9600 7E1, 1200 7E1 (%zu settings)", n);
	n = proto_setting_serial(READING_PROTO_DSMR, s);
	tap_ok(n == 2 && s[0] == TTY_SETTING_115200_8N1 && s[1] == TTY_SETTING_9600_7E1,
	       "dsmr tries its two settings");
	n = proto_setting_serial(READING_PROTO_TIC_HISTORIQUE, s);
	tap_ok(n == 1 && s[0] == TTY_SETTING_1200_7E1, "tic-historique: 1200 7E1");
	n = proto_setting_serial(READING_PROTO_TIC_STANDARD, s);
	tap_ok(n == 1 && s[0] == TTY_SETTING_9600_7E1, "tic-standard: 9600 7E1");
}

static void test_describe(void)
{
	char buf[64];

	TAP_EQ_STR(proto_describe(READING_PROTO_DSMR, "5.0", buf, sizeof(buf)), "DSMR 5.0", "DSMR version");
	TAP_EQ_STR(proto_describe(READING_PROTO_DSMR, "", buf, sizeof(buf)), "DSMR", "DSMR without version");
	TAP_EQ_STR(proto_describe(READING_PROTO_DSMR, "e-MUCS 1.7 (DSMR 5.0.2)", buf, sizeof(buf)),
		   "e-MUCS 1.7 (DSMR 5.0.2)", "a version that names itself");
	TAP_EQ_STR(proto_describe(READING_PROTO_TIC_STANDARD, "standard", buf, sizeof(buf)), "TIC standard",
		   "TIC title only");
	TAP_EQ_STR(proto_describe(READING_PROTO_NONE, "", buf, sizeof(buf)), "unknown", "no driver");
}

int main(void)
{
	test_table();
	test_names();
	test_settings();
	test_describe();
	return tap_done();
}
