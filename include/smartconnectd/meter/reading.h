/* SPDX-License-Identifier: MIT */
/*
 * The data model: one decoded meter frame (DSMR telegram or TIC frame).
 *
 * A struct reading holds the normalised fields of the snapshot (the keys of
 * smartconnect-decode(1), OUTPUT) and every object of the frame as spans
 * into a copy of the frame text. It contains no pointers, so copying it is always
 * safe, and it has a fixed size, so decoding never allocates.
 *
 * Normalised fields are fixed-point integers in millionths of the output unit
 * (µW, µkWh = mWh, µV, µA). Outputs divide by READING_SCALE, which gives the double
 * nearest to the decimal the meter sent. A field is known only when its bit is
 * set in `valid`; an unknown field is null, never 0.
 *
 * Pure. No I/O. Never logs.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define READING_SCALE 1000000LL

enum reading_field {
	READING_P,        /* total active power, W, + = import */
	READING_E_IMPORT, /* kWh, all tariffs */
	READING_E_EXPORT, /* kWh, all tariffs */
	READING_U12,      /* line-to-line voltages, V */
	READING_U31,
	READING_U32,
	READING_U1, /* phase voltages, V */
	READING_U2,
	READING_U3,
	READING_I1, /* phase currents, A, signed like P where the sign is known */
	READING_I2,
	READING_I3,
	READING_P1, /* phase active powers, W */
	READING_P2,
	READING_P3,
	_READING_FIELD_MAX,
};

/*
 * The protocols, one per driver in proto.h's table, which holds everything
 * else about them (names, serial settings, decoder). The one list of them:
 * the configuration and the meter input use it too, where NONE means "auto"
 * (detect among every driver).
 */
enum reading_protocol {
	READING_PROTO_NONE,           /* a frame no driver reads (encrypted); as a setting: auto */
	READING_PROTO_DSMR,           /* DSMR, e-MUCS, Smarty and other P1-style text */
	READING_PROTO_TIC_HISTORIQUE, /* Enedis TIC, historique mode (1200 7E1) */
	READING_PROTO_TIC_STANDARD,   /* Enedis TIC, standard mode (9600 7E1) */
	_READING_PROTO_MAX,
};

/* Quality flags: how a value was obtained where it is not a plain measurement. */
enum {
	READING_FLAG_TS_HOST = 1u << 0,     /* ts is the host's receive time, the frame has no usable clock */
	READING_FLAG_P_APPARENT = 1u << 1,  /* P, P1..P3 are apparent powers (VA) used as active power */
	READING_FLAG_I_UNSIGNED = 1u << 2,  /* I1..I3 are magnitudes, their direction is unknown */
	READING_FLAG_DELTA_GRID = 1u << 3,  /* 3x230 V grid without neutral: U12/U32 instead of phases */
	READING_FLAG_SHORT_FRAME = 1u << 4, /* TIC three-phase short frame (overcurrent), no power or index */
	READING_FLAG_CRC_7BIT = 1u << 5,    /* the DSMR CRC matched the bytes with bit 7 cleared */
	READING_FLAG_ENCRYPTED = 1u << 6,   /* decrypted from a DLMS ciphered frame */
	READING_FLAG_TAG_UNVERIFIED = 1u << 7,  /* encrypted, tag not verified, accepted on its CRC */
	READING_FLAG_CRC_PRESENT = 1u << 8,     /* the DSMR telegram carried a CRC, and it matched */
	READING_FLAG_ENERGY_NEGATIVE = 1u << 9, /* an energy register read below 0: left null */
};

struct reading_span {
	uint16_t off, len;
};

/* What an M-Bus channel measures, from its EN 13757-3 device type
 * (doc/protocols.md, "M-Bus channels"), not from its channel number. */
enum reading_mbus_kind {
	READING_MBUS_GAS,   /* device type 0x03 */
	READING_MBUS_WATER, /* 0x07 water, 0x16 cold water */
	READING_MBUS_HEAT,  /* 0x04, 0x0C heat (outlet, inlet), 0x0D heat/cooling */
	READING_MBUS_COLD,  /* 0x0A, 0x0B cooling (outlet, inlet) */
	_READING_MBUS_KIND_MAX,
};

/* The live channel of one kind: its last reading as the meter wrote it. */
struct reading_mbus {
	uint8_t channel;          /* 1..4; 0: no live channel of this kind in the frame */
	uint8_t decimals;         /* the value is mant / 10^decimals, in unit */
	int64_t mant;             /* never negative: a negative counter is not a reading */
	int64_t ts;               /* UTC of the channel's own capture time */
	struct reading_span unit; /* "m3", "GJ", "kWh" as written; empty when the meter writes none */
	struct reading_span id;   /* the channel's equipment id as written; empty when none */
};

/* One object of the frame: an OBIS code with its parenthesised values, or a TIC
 * group (label, optional horodate, data). Values are spans into text[]. */
struct reading_object {
	struct reading_span id;    /* OBIS code or TIC label, as written */
	struct reading_span stamp; /* TIC horodate (13 chars), empty otherwise */
	uint16_t first;            /* index of the first value in values[] */
	uint16_t count;            /* number of values */
};

/* Hard limits. A frame larger than READING_TEXT_MAX is rejected by the framer. The
 * largest legal DSMR telegram with five 2048-character Smarty messages is
 * about 11 KiB; a TIC standard frame is under 4 KiB. */
#define READING_TEXT_MAX 16384
#define READING_OBJECTS_MAX 256
#define READING_VALUES_MAX 1024
#define READING_VERSION_MAX 32
#define READING_ID_MAX 64

struct reading {
	int64_t field[_READING_FIELD_MAX]; /* millionths of the field's unit */
	uint32_t valid;                    /* bit (1u << enum reading_field) set = known */
	uint32_t flags;                    /* READING_FLAG_* */
	int64_t ts;                        /* UTC seconds since the epoch */
	enum reading_protocol protocol;
	uint32_t interval_s;               /* the protocol's nominal telegram interval */
	char version[READING_VERSION_MAX]; /* "5.0", "e-MUCS 1.7 (DSMR 5.0.2)", "standard", ... */
	char id[READING_ID_MAX];           /* equipment identifier, decoded; "" when none */
	struct reading_span ident;         /* DSMR identification line after '/', empty for TIC */
	struct reading_mbus mbus[_READING_MBUS_KIND_MAX]; /* by kind; DSMR only */

	uint16_t text_len;
	uint16_t n_objects;
	uint16_t n_values;
	struct reading_object objects[READING_OBJECTS_MAX];
	struct reading_span values[READING_VALUES_MAX];
	char text[READING_TEXT_MAX]; /* the frame (decrypted when encrypted), bit 7 cleared */
};

/* Clear everything but text[] (the framer fills text before decoding). */
void reading_reset(struct reading *v);

static inline bool reading_has(const struct reading *v, enum reading_field f)
{
	return v->valid & (1u << f);
}

static inline void reading_set(struct reading *v, enum reading_field f, int64_t micro)
{
	v->field[f] = micro;
	v->valid |= 1u << f;
}

static inline void reading_clear(struct reading *v, enum reading_field f)
{
	v->field[f] = 0;
	v->valid &= ~(1u << f);
}

/* The field as a double in its output unit (W, kWh, V, A). Only meaningful when reading_has(). */
static inline double reading_get(const struct reading *v, enum reading_field f)
{
	return (double) v->field[f] / (double) READING_SCALE;
}

/* "gas", "water", "heat", "cold"; NULL out of range. */
const char *reading_mbus_kind_to_string(enum reading_mbus_kind k) __attribute__((const));

/* Field names: "P", "E_IMPORT", ... NULL out of range. */
const char *reading_field_to_string(enum reading_field f) __attribute__((const));
/* Protocol names, from the drivers' table (proto.h), and "none": "dsmr",
 * "tic-historique", ... Unknown names give _READING_PROTO_MAX. */
const char *reading_protocol_to_string(enum reading_protocol p) __attribute__((const));
enum reading_protocol reading_protocol_from_string(const char *s);

/* Append an object (id span) and return its index, or -ENOBUFS when full. */
static inline int reading_add_object(struct reading *v, uint16_t id_off, uint16_t id_len)
{
	if (v->n_objects >= READING_OBJECTS_MAX)
		return -ENOBUFS;

	v->objects[v->n_objects] = (struct reading_object){
		.id = { id_off, id_len },
		.first = v->n_values,
	};
	return v->n_objects++;
}

/* Append a value span to the last object. -ENOBUFS when full. */
static inline int reading_add_value(struct reading *v, uint16_t off, uint16_t len)
{
	if (v->n_values >= READING_VALUES_MAX || v->n_objects == 0)
		return -ENOBUFS;

	v->values[v->n_values++] = (struct reading_span){ off, len };
	v->objects[v->n_objects - 1].count++;
	return 0;
}

/* Find an object by exact id; NULL when absent. Linear: frames hold < 100 objects. */
const struct reading_object *reading_find(const struct reading *v, const char *id);

static inline const char *reading_str(const struct reading *v, struct reading_span s)
{
	return v->text + s.off;
}

/*
 * A decimal number as the meter wrote it: digits with an optional sign and
 * decimal point, then an optional unit ("*kWh", "kWh", "*m3"). Numbers are
 * kept as mantissa and decimal count so nothing is lost before scaling.
 */
struct reading_number {
	int64_t mant;
	unsigned decimals;
	const char *unit; /* points into the parsed text, not NUL-terminated */
	size_t unit_len;
};

/* Parse "003432.829*kWh", "001247.747kWh", "-040*A", "00092.287". Returns 0, or
 * -EINVAL when s is not a number (empty, no digit, junk before the unit), -ERANGE
 * when it has more than 18 significant digits. */
int reading_parse_number(const char *s, size_t n, struct reading_number *ret);

/* Physical quantities the normalised fields use; the scaler accepts the unit
 * prefixes and spellings meters send (W/kW/MW, Wh/kWh/MWh, V/kV, A/mA, VA/kVA). */
enum reading_quantity {
	READING_Q_POWER,  /* to µW */
	READING_Q_ENERGY, /* to µkWh (mWh) */
	READING_Q_VOLT,   /* to µV */
	READING_Q_AMPERE, /* to µA */
};

/* Scale a number to millionths of the quantity's unit. A number without unit
 * is taken in `default_unit` (the unit the specification fixes for the object).
 * Returns 0, -EINVAL for a unit of another quantity, -ERANGE on overflow. */
int reading_scale(const struct reading_number *num, enum reading_quantity q, const char *default_unit,
		  int64_t *ret_micro);

/* reading_parse_number() and reading_scale() in one step, for the decoders' hot path. */
int reading_parse_scaled(const char *s, size_t n, enum reading_quantity q, const char *default_unit,
			 int64_t *ret_micro);

/* The value of one hex digit (either case), or -1. */
static inline int reading_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode a hex-encoded octet string ("4530...") into printable text. Stops at
 * ret_size - 1. Returns the decoded length, or -EINVAL when the input is not
 * even-length hex or decodes to bytes outside 0x20..0x7e. */
int reading_hex_to_text(const char *s, size_t n, char *ret, size_t ret_size);
