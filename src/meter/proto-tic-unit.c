/* SPDX-License-Identifier: MIT */
/*
 * The units of the TIC labels that are quantities: the TIC drivers' unit()
 * (proto.h), which the JSON output shows next to a group's value, and the
 * unit the decoder scales a group's data from.
 *
 * Pure. No I/O. Never logs.
 */
#include <string.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/proto.h"

/*
 * Units as the Enedis specifications fix them for the historique and
 * standard labels. PMAX is labelled W by the historique specification but
 * is apparent power on Linky.
 */
static const struct {
	const char *label;
	const char *unit;
} tic_units[] = {
	{ "BASE", "Wh" },     { "HCHC", "Wh" },      { "HCHP", "Wh" },      { "EJPHN", "Wh" },
	{ "EJPHPM", "Wh" },   { "BBRHCJB", "Wh" },   { "BBRHPJB", "Wh" },   { "BBRHCJW", "Wh" },
	{ "BBRHPJW", "Wh" },  { "BBRHCJR", "Wh" },   { "BBRHPJR", "Wh" },   { "EAST", "Wh" },
	{ "EASF01", "Wh" },   { "EASF02", "Wh" },    { "EASF03", "Wh" },    { "EASF04", "Wh" },
	{ "EASF05", "Wh" },   { "EASF06", "Wh" },    { "EASF07", "Wh" },    { "EASF08", "Wh" },
	{ "EASF09", "Wh" },   { "EASF10", "Wh" },    { "EASD01", "Wh" },    { "EASD02", "Wh" },
	{ "EASD03", "Wh" },   { "EASD04", "Wh" },    { "EAIT", "Wh" },      { "ERQ1", "VArh" },
	{ "ERQ2", "VArh" },   { "ERQ3", "VArh" },    { "ERQ4", "VArh" },    { "IINST", "A" },
	{ "IINST1", "A" },    { "IINST2", "A" },     { "IINST3", "A" },     { "IMAX", "A" },
	{ "IMAX1", "A" },     { "IMAX2", "A" },      { "IMAX3", "A" },      { "ADPS", "A" },
	{ "ADIR1", "A" },     { "ADIR2", "A" },      { "ADIR3", "A" },      { "ISOUSC", "A" },
	{ "IRMS1", "A" },     { "IRMS2", "A" },      { "IRMS3", "A" },      { "URMS1", "V" },
	{ "URMS2", "V" },     { "URMS3", "V" },      { "UMOY1", "V" },      { "UMOY2", "V" },
	{ "UMOY3", "V" },     { "PAPP", "VA" },      { "PMAX", "VA" },      { "SINSTS", "VA" },
	{ "SINSTS1", "VA" },  { "SINSTS2", "VA" },   { "SINSTS3", "VA" },   { "SINSTI", "VA" },
	{ "SMAXSN", "VA" },   { "SMAXSN1", "VA" },   { "SMAXSN2", "VA" },   { "SMAXSN3", "VA" },
	{ "SMAXSN-1", "VA" }, { "SMAXSN1-1", "VA" }, { "SMAXSN2-1", "VA" }, { "SMAXSN3-1", "VA" },
	{ "SMAXIN", "VA" },   { "SMAXIN-1", "VA" },  { "CCASN", "W" },      { "CCASN-1", "W" },
	{ "CCAIN", "W" },     { "CCAIN-1", "W" },    { "PREF", "kVA" },     { "PCOUP", "kVA" },
	{ "PEJP", "min" },
};

const char *proto_tic_unit(const char *label, size_t len)
{
	if (!label || len == 0)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(tic_units); i++)
		if (strlen(tic_units[i].label) == len && memcmp(label, tic_units[i].label, len) == 0)
			return tic_units[i].unit;
	return NULL;
}
