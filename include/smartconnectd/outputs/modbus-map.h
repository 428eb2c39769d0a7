/* SPDX-License-Identifier: MIT */
/*
 * Meter templates for the Modbus server: the register image of an emulated
 * meter, built from a snapshot. A template is one table (blocks that may be
 * read, points with their type, scaling and source); adding a meter type is
 * adding a table in modbus_map.c, not code in the server.
 *
 * Registers are 16-bit words on the wire; the image covers the whole 16-bit
 * address space so that a template's blocks can sit anywhere. Reads outside
 * the blocks get exception 0x02; words inside a block that no point fills read
 * as the template's filler (0, or SunSpec's "not implemented" markers).
 *
 * Pure. No I/O. Never logs.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartconnectd/meter/reading.h"

#define MODBUS_MAP_SIZE 65536

/* How a value is laid out in registers. */
enum modbus_map_type {
	MODBUS_MAP_F32_CDAB, /* IEEE 754 float, low word first (EMpro) */
	MODBUS_MAP_F32_ABCD, /* IEEE 754 float, high word first (Eastron) */
	MODBUS_MAP_I32_CDAB, /* signed 32-bit, low word first (Carlo Gavazzi) */
	MODBUS_MAP_U32_ABCD, /* unsigned 32-bit, high word first (SunSpec acc32, serials) */
	MODBUS_MAP_I16,
	MODBUS_MAP_U16,
	MODBUS_MAP_SSF,     /* SunSpec scale factor of a group (int16), chosen per snapshot */
	MODBUS_MAP_I16_SSF, /* int16 scaled by the SunSpec scale factor of its group */
	MODBUS_MAP_STR,     /* ASCII, two characters per register, NUL padded */
};

/* Where a value comes from, beyond the snapshot's own fields (enum reading_field). */
enum modbus_map_source {
	MODBUS_MAP_SRC_CONST = _READING_FIELD_MAX, /* the point's constant */
	MODBUS_MAP_SRC_I_SUM,                      /* I1 + I2 + I3 */
	MODBUS_MAP_SRC_E_TOTAL,                    /* E_IMPORT + E_EXPORT */
	MODBUS_MAP_SRC_WRITABLE,                   /* the last value a client wrote (see modbus_map_write) */
	MODBUS_MAP_SRC_SERIAL,                     /* the gateway's serial number (text) */
	MODBUS_MAP_SRC_VERSION,                    /* the software version (text) */
	MODBUS_MAP_SRC_TEXT,                       /* the point's text */
	MODBUS_MAP_SRC_PHASES,                     /* number of phases: 1 or 3 (Eastron system type) */
	MODBUS_MAP_SRC_CG_SYSTEM,                  /* Carlo Gavazzi measuring system: 0 = 3P.n, 3 = 1P */
};

struct modbus_map_point {
	uint16_t addr;
	uint8_t type;   /* enum modbus_map_type */
	uint8_t source; /* enum reading_field or enum modbus_map_source */
	int8_t exp;     /* register = value x 10^exp (V x 10 is exp 1); SSF group for SunSpec */
	uint8_t len;    /* registers, for MODBUS_MAP_STR */
	int32_t constant;
	const char *text;
	/* The register's name and unit as a meter's datasheet gives them, where
	 * the source does not tell (constants, text, setup registers); else NULL
	 * and modbus_map_point_name() names it from the source. */
	const char *name;
	const char *unit;
};

struct modbus_map_block {
	uint16_t start;
	uint16_t len;
};

/* A register a client may write (FC 0x06/0x10) and read back, as Victron does
 * with the EM24's application mode; any other write is refused. */
struct modbus_map_writable {
	uint16_t addr;
	uint16_t initial;
};

/* A value answered only to a read of exactly one register at addr (the EM24
 * model code at 0x000B overlaps a 32-bit voltage in block reads). */
struct modbus_map_single {
	uint16_t addr;
	uint16_t value;
};

struct modbus_map_template {
	const char *name; /* the MeterType value */
	const struct modbus_map_block *blocks;
	size_t n_blocks;
	const struct modbus_map_point *points; /* FC 0x03 and 0x04 */
	size_t n_points;
	const struct modbus_map_point *holding; /* FC 0x03 only, where a meter keeps setup data */
	size_t n_holding;
	const struct modbus_map_writable *writable;
	size_t n_writable;
	const struct modbus_map_single *singles;
	size_t n_singles;
	uint16_t filler; /* words of a block that no point fills */
	bool sunspec;    /* unknown values use SunSpec's "not implemented" markers */
};

/* Identity the templates show in their identification registers. */
struct modbus_map_ident {
	const char *serial;
	const char *version;
};

/* The template called name (case-insensitive), NULL when there is none. */
const struct modbus_map_template *modbus_map_find(const char *name);
/* The template a reader on an RS-485 bus expects where the meter's serial
 * model has another map than its Ethernet one (the EM24); t otherwise. */
const struct modbus_map_template *modbus_map_for_rtu(const struct modbus_map_template *t);
/* Every template, for help texts and tests: NULL-terminated. */
const struct modbus_map_template *const *modbus_map_templates(void);

/* The point's name and its unit ("" for none): the point's own, else the one
 * its source and type give ("Voltage L1-N", "V"). NULL when neither names
 * it (the unit test requires a name for every point). modbus-map-names.c. */
const char *modbus_map_point_name(const struct modbus_map_point *p, const char **ret_unit);

/* Is every register of [addr, addr + count) inside one of the template's blocks? */
bool modbus_map_readable(const struct modbus_map_template *t, unsigned addr, unsigned count);

/* The value of a single-register read at addr, if the template has one. */
bool modbus_map_single_read(const struct modbus_map_template *t, unsigned addr, uint16_t *ret);

/* Index of the writable register at addr, or -1. */
int modbus_map_writable_index(const struct modbus_map_template *t, unsigned addr);

/*
 * Fill the register images from a snapshot's values. v may be NULL (no data,
 * or stale data with the "zero" policy): every measurement then reads as the
 * template's "unknown" value while identification registers stay. written[]
 * holds the current value of each writable register (n_writable entries).
 * input and holding are MODBUS_MAP_SIZE words each; only the template's blocks are
 * written.
 */
void modbus_map_fill(const struct modbus_map_template *t, const struct reading *v,
		     const struct modbus_map_ident *id, const uint16_t *written, uint16_t *input,
		     uint16_t *holding);
