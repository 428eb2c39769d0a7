/* SPDX-License-Identifier: MIT */
/*
 * The HomeWizard-compatible v1 JSON against the public field names and
 * types, for real telegrams from tests/data: DSMR 5 with gas, e-MUCS with the
 * capacity tariff and gas and water, DSMR 2.2, TIC standard. Every key must
 * be one of the v1 names with its JSON type; the keys a sample must give and
 * some values are checked per sample.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/meter/telegram.h"
#include "smartconnectd/outputs/homewizard-json.h"
#include "tap.h"

/* The v1 /api/v1/data names this gateway may send, with their JSON types. */
static const struct {
	const char *key;
	json_type type; /* JSON_REAL: any number */
} v1_keys[] = {
	{ "smr_version", JSON_INTEGER },
	{ "meter_model", JSON_STRING },
	{ "unique_id", JSON_STRING },
	{ "active_tariff", JSON_INTEGER },
	{ "total_power_import_kwh", JSON_REAL },
	{ "total_power_import_t1_kwh", JSON_REAL },
	{ "total_power_import_t2_kwh", JSON_REAL },
	{ "total_power_import_t3_kwh", JSON_REAL },
	{ "total_power_import_t4_kwh", JSON_REAL },
	{ "total_power_export_kwh", JSON_REAL },
	{ "total_power_export_t1_kwh", JSON_REAL },
	{ "total_power_export_t2_kwh", JSON_REAL },
	{ "total_power_export_t3_kwh", JSON_REAL },
	{ "total_power_export_t4_kwh", JSON_REAL },
	{ "active_power_w", JSON_REAL },
	{ "active_power_l1_w", JSON_REAL },
	{ "active_power_l2_w", JSON_REAL },
	{ "active_power_l3_w", JSON_REAL },
	{ "active_voltage_l1_v", JSON_REAL },
	{ "active_voltage_l2_v", JSON_REAL },
	{ "active_voltage_l3_v", JSON_REAL },
	{ "active_current_l1_a", JSON_REAL },
	{ "active_current_l2_a", JSON_REAL },
	{ "active_current_l3_a", JSON_REAL },
	{ "active_frequency_hz", JSON_REAL },
	{ "voltage_sag_l1_count", JSON_INTEGER },
	{ "voltage_sag_l2_count", JSON_INTEGER },
	{ "voltage_sag_l3_count", JSON_INTEGER },
	{ "voltage_swell_l1_count", JSON_INTEGER },
	{ "voltage_swell_l2_count", JSON_INTEGER },
	{ "voltage_swell_l3_count", JSON_INTEGER },
	{ "any_power_fail_count", JSON_INTEGER },
	{ "long_power_fail_count", JSON_INTEGER },
	{ "active_power_average_w", JSON_REAL },
	{ "montly_power_peak_w", JSON_REAL },
	{ "montly_power_peak_timestamp", JSON_INTEGER },
	{ "total_gas_m3", JSON_REAL },
	{ "gas_timestamp", JSON_INTEGER },
	{ "gas_unique_id", JSON_STRING },
	{ "external", JSON_ARRAY },
};

static struct reading first;
static bool have_first;

static void on_accept(const struct reading *v, void *userdata)
{
	(void) userdata;
	if (!have_first)
		first = *v;
	have_first = true;
}

static void on_reject(const struct telegram_reject *r, void *userdata)
{
	(void) r;
	(void) userdata;
}

static json_t *data_of(const char *rel)
{
	char path[1024];
	size_t len;
	char *raw;
	struct telegram *t;

	snprintf(path, sizeof(path), "%s/%s", getenv("TESTDATA") ?: "tests/data", rel);
	raw = tap_read_file(path, &len);
	have_first = false;
	if (!raw || telegram_new(TELEGRAM_HUNT_ALL, &DECODE_OPTS_DEFAULT, on_accept, on_reject, NULL, &t) < 0)
		abort();
	telegram_feed(t, raw, len, 1700000000 * USEC_PER_SEC);
	telegram_flush(t);
	telegram_free(t);
	free(raw);
	tap_ok(have_first, "%s decodes", rel);
	return have_first ? homewizard_json_data(&first) : NULL;
}

static bool type_ok(json_t *v, json_type want)
{
	return want == JSON_REAL ? json_is_number(v) : json_typeof(v) == want;
}

static void check_names(json_t *o, const char *what)
{
	const char *key;
	json_t *val;
	bool ok = true;

	json_object_foreach (o, key, val) {
		size_t i = 0;

		while (i < ARRAY_SIZE(v1_keys) && strcmp(v1_keys[i].key, key) != 0)
			i++;
		if (i == ARRAY_SIZE(v1_keys) || !type_ok(val, v1_keys[i].type)) {
			tap_diag("%s: %s is not a v1 key of its type", what, key);
			ok = false;
		}
	}
	tap_ok(ok, "%s: every key is a v1 name with the v1 type", what);
}

static void has_keys(json_t *o, const char *what, const char *const *keys)
{
	for (; *keys; keys++)
		tap_ok(json_object_get(o, *keys) != NULL, "%s: has %s", what, *keys);
}

static void lacks(json_t *o, const char *what, const char *key)
{
	tap_ok(json_object_get(o, key) == NULL, "%s: no %s (the meter does not give it)", what, key);
}

static double num(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static void test_dsmr50(void)
{
	static const char *const keys[] = { "smr_version",
					    "meter_model",
					    "unique_id",
					    "active_tariff",
					    "total_power_import_t1_kwh",
					    "total_power_import_t2_kwh",
					    "total_power_export_t1_kwh",
					    "active_power_w",
					    "active_power_l1_w",
					    "active_voltage_l1_v",
					    "active_current_l1_a",
					    "any_power_fail_count",
					    "long_power_fail_count",
					    "total_gas_m3",
					    "gas_timestamp",
					    "external",
					    NULL };
	json_t *o = data_of("dsmr/nl_dsmr50_iskra-am550_gas_openhab.raw");
	json_t *ext = json_object_get(o, "external"), *gas = json_array_get(ext, 0);

	check_names(o, "DSMR 5");
	has_keys(o, "DSMR 5", keys);
	TAP_EQ_INT(json_integer_value(json_object_get(o, "smr_version")), 50, "DSMR 5: smr_version");
	TAP_EQ_STR(json_string_value(json_object_get(o, "meter_model")) ?: "", "ISK5\\2M550T-1012",
		   "DSMR 5: meter_model");
	TAP_EQ_STR(json_string_value(json_object_get(o, "unique_id")) ?: "",
		   "4530303434303036393033333132393137", "DSMR 5: unique_id is the equipment id in hex");
	tap_ok(num(o, "total_power_import_t1_kwh") == 156.167 &&
		   num(o, "total_power_import_t2_kwh") == 71.546,
	       "DSMR 5: tariff 1 is 1.8.1, tariff 2 is 1.8.2");
	tap_ok(num(o, "active_power_w") == 519, "DSMR 5: active_power_w 519");
	tap_ok(json_array_size(ext) == 1 &&
		   strcmp(json_string_value(json_object_get(gas, "type")) ?: "", "gas_meter") == 0 &&
		   json_number_value(json_object_get(gas, "value")) == 212.529 &&
		   json_integer_value(json_object_get(gas, "timestamp")) == 180104231507 &&
		   strcmp(json_string_value(json_object_get(gas, "unit")) ?: "", "m3") == 0 &&
		   strcmp(json_string_value(json_object_get(gas, "unique_id")) ?: "",
			  "4730303339303031373633333738373137") == 0,
	       "DSMR 5: external[0] is the gas meter with id, timestamp, value and unit");
	tap_ok(num(o, "total_gas_m3") == 212.529, "DSMR 5: total_gas_m3");
	lacks(o, "DSMR 5", "montly_power_peak_w");
	json_decref(o);
}

static void test_emucs(void)
{
	static const char *const keys[] = { "smr_version",
					    "unique_id",
					    "active_power_average_w",
					    "montly_power_peak_w",
					    "montly_power_peak_timestamp",
					    "external",
					    "total_power_import_t1_kwh",
					    NULL };
	json_t *o = data_of("dsmr/be_emucs_fluvius_capacity-history_dsmrparser.raw");
	json_t *ext = json_object_get(o, "external");

	check_names(o, "e-MUCS");
	has_keys(o, "e-MUCS", keys);
	TAP_EQ_INT(json_integer_value(json_object_get(o, "smr_version")), 50, "e-MUCS: smr_version");
	tap_ok(num(o, "active_power_average_w") == 52, "e-MUCS: active_power_average_w 52 (00.052 kW)");
	tap_ok(num(o, "montly_power_peak_w") == 3064 &&
		   json_integer_value(json_object_get(o, "montly_power_peak_timestamp")) == 231102114500,
	       "e-MUCS: month peak 3064 W at 231102114500");
	tap_ok(json_array_size(ext) == 2 &&
		   strcmp(json_string_value(json_object_get(json_array_get(ext, 1), "type")) ?: "",
			  "water_meter") == 0,
	       "e-MUCS: gas and water in external[]");
	json_decref(o);
}

static void test_dsmr22(void)
{
	json_t *o = data_of("dsmr/nl_dsmr22_kamstrup_basjes.raw");

	check_names(o, "DSMR 2.2");
	tap_ok(num(o, "total_power_export_t2_kwh") == 7729.108, "DSMR 2.2: export tariff 2");
	lacks(o, "DSMR 2.2", "smr_version");
	lacks(o, "DSMR 2.2", "active_voltage_l1_v");
	json_decref(o);
}

static void test_tic(void)
{
	static const char *const keys[] = { "unique_id",           "total_power_import_kwh", "active_power_w",
					    "active_voltage_l1_v", "active_current_l3_a",    NULL };
	json_t *o = data_of("tic/fr_tic-standard_three-phase_tempo_teleinfo-nom.raw");

	check_names(o, "TIC");
	has_keys(o, "TIC", keys);
	tap_ok(num(o, "active_voltage_l2_v") == 238, "TIC: URMS2 is active_voltage_l2_v");
	lacks(o, "TIC", "smr_version");
	lacks(o, "TIC", "total_power_import_t1_kwh");
	json_decref(o);
}

static void test_basic(void)
{
	json_t *o = homewizard_json_basic("3c39e7aabbcc", "0.1.0");
	char *text = json_dumps(o, JSON_COMPACT);

	TAP_EQ_STR(text ?: "",
		   "{\"product_type\":\"HWE-P1\",\"product_name\":\"P1 meter\",\"serial\":\"3c39e7aabbcc\","
		   "\"firmware_version\":\"0.1.0\",\"api_version\":\"v1\"}",
		   "GET /api");
	free(text);
	json_decref(o);
}

int main(void)
{
	test_basic();
	test_dsmr50();
	test_emucs();
	test_dsmr22();
	test_tic();
	return tap_done();
}
