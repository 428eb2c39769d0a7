/* SPDX-License-Identifier: MIT */
/*
 * The names of the templates' registers (modbus-map.h): fixed English, as a
 * meter's datasheet names them, since an installer compares them with one; the
 * page translates its own words around them, not these. A point that the
 * tables name keeps its name; the others are named by their source, or by
 * their scale factor's group for SunSpec.
 *
 * Pure. No I/O. Never logs.
 */
#include "smartconnectd/base/macro.h"
#include "smartconnectd/outputs/modbus-map.h"

struct point_name {
	const char *name;
	const char *unit;
};

static const struct point_name by_field[_READING_FIELD_MAX] = {
	[READING_P] = { "Active power total", "W" },
	[READING_E_IMPORT] = { "Import energy", "kWh" },
	[READING_E_EXPORT] = { "Export energy", "kWh" },
	[READING_U12] = { "Voltage L1-L2", "V" },
	[READING_U31] = { "Voltage L3-L1", "V" },
	[READING_U32] = { "Voltage L2-L3", "V" },
	[READING_U1] = { "Voltage L1-N", "V" },
	[READING_U2] = { "Voltage L2-N", "V" },
	[READING_U3] = { "Voltage L3-N", "V" },
	[READING_I1] = { "Current L1", "A" },
	[READING_I2] = { "Current L2", "A" },
	[READING_I3] = { "Current L3", "A" },
	[READING_P1] = { "Active power L1", "W" },
	[READING_P2] = { "Active power L2", "W" },
	[READING_P3] = { "Active power L3", "W" },
};

/* By enum modbus_map_source - _READING_FIELD_MAX; NULL where the point must name itself. */
static const struct point_name by_source[] = {
	[MODBUS_MAP_SRC_CONST - _READING_FIELD_MAX] = { NULL, "" },
	[MODBUS_MAP_SRC_I_SUM - _READING_FIELD_MAX] = { "Current total", "A" },
	[MODBUS_MAP_SRC_E_TOTAL - _READING_FIELD_MAX] = { "Total energy (import + export)", "kWh" },
	[MODBUS_MAP_SRC_WRITABLE - _READING_FIELD_MAX] = { NULL, "" },
	[MODBUS_MAP_SRC_SERIAL - _READING_FIELD_MAX] = { "Serial number", "" },
	[MODBUS_MAP_SRC_VERSION - _READING_FIELD_MAX] = { "Software version", "" },
	[MODBUS_MAP_SRC_TEXT - _READING_FIELD_MAX] = { NULL, "" },
	[MODBUS_MAP_SRC_PHASES - _READING_FIELD_MAX] = { "System type (phases)", "" },
	[MODBUS_MAP_SRC_CG_SYSTEM - _READING_FIELD_MAX] = { "Measuring system", "" },
};

/* SunSpec model 203's scale factor groups, in the order of modbus-map.c's SSF_* (A, V, Hz, W, VA,
 * var, PF, Wh). */
static const char *const ssf_names[] = {
	"Current scale factor",      "Voltage scale factor",        "Frequency scale factor",
	"Power scale factor",        "Apparent power scale factor", "Reactive power scale factor",
	"Power factor scale factor", "Energy scale factor",
};

const char *modbus_map_point_name(const struct modbus_map_point *p, const char **ret_unit)
{
	const struct point_name *n = NULL;

	*ret_unit = "";
	if (p->name) {
		*ret_unit = p->unit ?: "";
		return p->name;
	}
	if (p->type == MODBUS_MAP_SSF)
		return p->exp >= 0 && (size_t) p->exp < ARRAY_SIZE(ssf_names) ? ssf_names[p->exp] : NULL;
	if (p->source < _READING_FIELD_MAX)
		n = &by_field[p->source];
	else if ((size_t) (p->source - _READING_FIELD_MAX) < ARRAY_SIZE(by_source))
		n = &by_source[p->source - _READING_FIELD_MAX];
	if (!n || !n->name)
		return NULL;
	*ret_unit = n->unit;
	return n->name;
}
