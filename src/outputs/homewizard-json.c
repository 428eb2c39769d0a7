/* SPDX-License-Identifier: MIT */
/*
 * The HomeWizard-compatible v1 JSON (see homewizard-json.h): normalised
 * fields where the reading has them, the other fields from the frame's DSMR
 * objects through two tables, and the M-Bus channels as external[].
 * Pure. No I/O. Never logs.
 */
#include <stdio.h>
#include <string.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/outputs/homewizard-json.h"
#include "smartconnectd/outputs/mbus-channel.h"

/* Fields straight from the normalised values: same unit (kWh, W, V, A). */
static const struct {
	const char *key;
	enum reading_field f;
} hw_fields[] = {
	{ "total_power_import_kwh", READING_E_IMPORT },
	{ "total_power_export_kwh", READING_E_EXPORT },
	{ "active_power_w", READING_P },
	{ "active_power_l1_w", READING_P1 },
	{ "active_power_l2_w", READING_P2 },
	{ "active_power_l3_w", READING_P3 },
	{ "active_voltage_l1_v", READING_U1 },
	{ "active_voltage_l2_v", READING_U2 },
	{ "active_voltage_l3_v", READING_U3 },
	{ "active_current_l1_a", READING_I1 },
	{ "active_current_l2_a", READING_I2 },
	{ "active_current_l3_a", READING_I3 },
};

enum hw_kind {
	HW_INT,    /* a count or an index: an integer */
	HW_NUMBER, /* a number in the object's own unit (kWh, Hz) */
	HW_WATT,   /* a power, sent in kW: to W */
};

/* Fields from one object's first value. "montly" is the original's spelling. */
static const struct {
	const char *key, *obis;
	enum hw_kind kind;
} hw_objects[] = {
	{ "active_tariff", "0-0:96.14.0", HW_INT },
	{ "total_power_import_t1_kwh", "1-0:1.8.1", HW_NUMBER },
	{ "total_power_import_t2_kwh", "1-0:1.8.2", HW_NUMBER },
	{ "total_power_import_t3_kwh", "1-0:1.8.3", HW_NUMBER },
	{ "total_power_import_t4_kwh", "1-0:1.8.4", HW_NUMBER },
	{ "total_power_export_t1_kwh", "1-0:2.8.1", HW_NUMBER },
	{ "total_power_export_t2_kwh", "1-0:2.8.2", HW_NUMBER },
	{ "total_power_export_t3_kwh", "1-0:2.8.3", HW_NUMBER },
	{ "total_power_export_t4_kwh", "1-0:2.8.4", HW_NUMBER },
	{ "active_frequency_hz", "1-0:14.7.0", HW_NUMBER },
	{ "voltage_sag_l1_count", "1-0:32.32.0", HW_INT },
	{ "voltage_sag_l2_count", "1-0:52.32.0", HW_INT },
	{ "voltage_sag_l3_count", "1-0:72.32.0", HW_INT },
	{ "voltage_swell_l1_count", "1-0:32.36.0", HW_INT },
	{ "voltage_swell_l2_count", "1-0:52.36.0", HW_INT },
	{ "voltage_swell_l3_count", "1-0:72.36.0", HW_INT },
	{ "any_power_fail_count", "0-0:96.7.21", HW_INT },
	{ "long_power_fail_count", "0-0:96.7.9", HW_INT },
	{ "active_power_average_w", "1-0:1.4.0", HW_WATT },
};

/* Value i of object obis as a span; false when absent. */
static bool hw_value(const struct reading *v, const char *obis, unsigned i, struct reading_span *ret)
{
	const struct reading_object *o = reading_find(v, obis);

	if (!o || i >= o->count)
		return false;
	*ret = v->values[o->first + i];
	return ret->len > 0;
}

static json_t *hw_number(const struct reading *v, struct reading_span s, enum hw_kind kind)
{
	struct reading_number n;
	int64_t micro;

	if (kind == HW_WATT) {
		if (reading_parse_scaled(reading_str(v, s), s.len, READING_Q_POWER, "kW", &micro) < 0)
			return NULL;
		return json_real((double) micro / (double) READING_SCALE);
	}
	if (reading_parse_number(reading_str(v, s), s.len, &n) < 0)
		return NULL;
	if (kind == HW_INT)
		return n.decimals == 0 ? json_integer(n.mant) : NULL;
	return json_real(mbus_number(&n));
}

/* A DSMR time stamp "231102121548W" as the number 231102121548. */
static json_t *hw_timestamp(const struct reading *v, struct reading_span s)
{
	json_int_t t = 0;

	if (s.len < 12)
		return NULL;
	for (unsigned i = 0; i < 12; i++) {
		char c = reading_str(v, s)[i];

		if (c < '0' || c > '9')
			return NULL;
		t = t * 10 + (c - '0');
	}
	return json_integer(t);
}

/* Set key to val (taken) when val is there; false only on OOM. */
static bool hw_set(json_t *o, const char *key, json_t *val)
{
	return !val || json_object_set_new(o, key, val) == 0;
}

static json_t *hw_hex(const char *s)
{
	char hex[2 * READING_ID_MAX + 1];
	size_t k = 0;

	for (; *s && k + 2 < sizeof(hex); s++)
		k += (size_t) snprintf(hex + k, sizeof(hex) - k, "%02X", (unsigned char) *s);
	hex[k] = '\0';
	return json_string(hex);
}

/* smr_version: DSMR 1-3:0.2.8 ("50"), or the DSMR part of e-MUCS 0-0:96.1.4
 * ("50217": 50, as the original reports Belgian meters). */
static json_t *hw_smr_version(const struct reading *v)
{
	struct reading_span s;
	char d[3];

	if (!hw_value(v, "1-3:0.2.8", 0, &s) && !hw_value(v, "0-0:96.1.4", 0, &s))
		return NULL;
	if (s.len < 2)
		return NULL;
	memcpy(d, reading_str(v, s), 2);
	d[2] = '\0';
	if (d[0] < '0' || d[0] > '9' || d[1] < '0' || d[1] > '9')
		return NULL;
	return json_integer((d[0] - '0') * 10 + (d[1] - '0'));
}

static bool hw_identity(json_t *o, const struct reading *v)
{
	char model[256];

	snprintf(model, sizeof(model), "%.*s", (int) v->ident.len, reading_str(v, v->ident));
	return hw_set(o, "smr_version", hw_smr_version(v)) &&
	       hw_set(o, "meter_model", model[0] ? json_string(model) : NULL) &&
	       hw_set(o, "unique_id", v->id[0] ? hw_hex(v->id) : NULL);
}

/* Belgian capacity tariff: 1-0:1.6.0(time)(kW), this month's peak. */
static bool hw_peak(json_t *o, const struct reading *v)
{
	struct reading_span ts, kw;

	if (!hw_value(v, "1-0:1.6.0", 0, &ts) || !hw_value(v, "1-0:1.6.0", 1, &kw))
		return true;
	return hw_set(o, "montly_power_peak_w", hw_number(v, kw, HW_WATT)) &&
	       hw_set(o, "montly_power_peak_timestamp", hw_timestamp(v, ts));
}

/* The original's names of the M-Bus device kinds. */
static const char *hw_external_type(enum mbus_kind k)
{
	static const char *const names[] = {
		[MBUS_GAS] = "gas_meter",
		[MBUS_HEAT] = "heat_meter",
		[MBUS_WARM_WATER] = "warm_water_meter",
		[MBUS_WATER] = "water_meter",
		[MBUS_INLET_HEAT] = "inlet_heat_meter",
	};

	return (size_t) k < ARRAY_SIZE(names) ? names[k] : NULL;
}

/* One M-Bus channel as an external[] entry; NULL when it has no reading or
 * a kind the original does not name. */
static json_t *hw_external(const struct reading *v, unsigned ch, const char **ret_type)
{
	struct mbus_channel mc;

	if (!mbus_channel_read(v, ch, &mc) || !(*ret_type = hw_external_type(mc.kind)))
		return NULL;
	return json_pack("{s:s%,s:s,s:o*,s:f,s:s%}", "unique_id", reading_str(v, mc.id), (size_t) mc.id.len,
			 "type", *ret_type, "timestamp", hw_timestamp(v, mc.stamp), "value",
			 mbus_number(&mc.value), "unit", mc.value.unit_len ? mc.value.unit : "",
			 mc.value.unit_len);
}

/* external[], and the first gas meter also as the original's older
 * total_gas_m3 / gas_timestamp / gas_unique_id, which many clients read. */
static bool hw_externals(json_t *o, const struct reading *v)
{
	json_t *ext = json_array();
	bool gas = false;

	if (!ext || json_object_set_new(o, "external", ext) < 0)
		return false;
	for (unsigned ch = 1; ch <= MBUS_CHANNEL_MAX; ch++) {
		const char *type = NULL;
		json_t *e = hw_external(v, ch, &type);

		if (!e)
			continue;
		if (!gas && strcmp(type, "gas_meter") == 0) {
			gas = true;
			if (!hw_set(o, "total_gas_m3", json_incref(json_object_get(e, "value"))) ||
			    !hw_set(o, "gas_timestamp", json_incref(json_object_get(e, "timestamp"))) ||
			    !hw_set(o, "gas_unique_id", json_incref(json_object_get(e, "unique_id")))) {
				json_decref(e);
				return false;
			}
		}
		if (json_array_append_new(ext, e) < 0)
			return false;
	}
	return true;
}

json_t *homewizard_json_data(const struct reading *v)
{
	json_t *o = json_object();

	if (!o || !hw_identity(o, v))
		goto fail;
	for (size_t i = 0; i < ARRAY_SIZE(hw_fields); i++)
		if (reading_has(v, hw_fields[i].f) &&
		    !hw_set(o, hw_fields[i].key, json_real(reading_get(v, hw_fields[i].f))))
			goto fail;
	for (size_t i = 0; i < ARRAY_SIZE(hw_objects); i++) {
		struct reading_span s;

		if (hw_value(v, hw_objects[i].obis, 0, &s) &&
		    !hw_set(o, hw_objects[i].key, hw_number(v, s, hw_objects[i].kind)))
			goto fail;
	}
	if (!hw_peak(o, v) || !hw_externals(o, v))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

json_t *homewizard_json_basic(const char *serial, const char *firmware_version)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s}", "product_type", HOMEWIZARD_PRODUCT_TYPE, "product_name",
			 HOMEWIZARD_PRODUCT_NAME, "serial", serial, "firmware_version", firmware_version,
			 "api_version", "v1");
}
