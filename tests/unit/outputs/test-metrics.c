/* SPDX-License-Identifier: MIT */
/*
 * The /metrics page: without a reading only the meter state and the
 * counters are there; with a one-phase DSMR telegram its values appear in
 * base units (W, V, A, J), per-tariff registers from the objects, no family
 * for what the meter does not give, and every counter in its place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/meter/crc.h"
#include "smartconnectd/outputs/metrics.h"
#include "tap.h"

static struct reading v;

static int decode(const char *body)
{
	enum telegram_error e;
	char detail[TELEGRAM_DETAIL_MAX];
	size_t n = strlen(body);

	memcpy(v.text, body, n);
	n += (size_t) sprintf(v.text + n, "%04X\r\n", crc16_arc(body, n));
	v.text_len = (uint16_t) n;
	return proto_dsmr_decode(&v, &DECODE_OPTS_DEFAULT, 1700000000, &e, detail);
}

static void has(const char *page, const char *line, bool want)
{
	char *hit = strstr(page, line);

	tap_ok(!!hit == want, "%s: %s", want ? "has" : "has not", line);
}

static void test_empty(void)
{
	struct metrics_input in = { .mqtt_enabled = true };
	char *page;

	in.telegram.by_error[TELEGRAM_ERR_CRC] = 3;
	in.http.by_status[401 - HTTPD_STATUS_FIRST] = 2;
	in.modbus.replaced = 5;
	modbus_server_count_request(&in.modbus, 0x04);
	modbus_server_count_request(&in.modbus, 0x2b);
	modbus_server_count_request(&in.modbus, -1);
	modbus_server_count_exception(&in.modbus, 2);
	modbus_server_count_exception(&in.modbus, 200);
	page = metrics_format(&in);
	tap_ok(page != NULL, "empty input formats");
	if (!page)
		return;
	has(page, "smartconnect_meter_receiving 0\n", true);
	has(page, "smartconnect_power_watts", false);
	has(page, "smartconnect_meter_data_age_seconds", false);
	has(page, "smartconnect_telegrams_rejected_total{reason=\"crc\"} 3\n", true);
	has(page, "smartconnect_telegrams_rejected_total{reason=\"replay\"} 0\n", true);
	has(page, "smartconnect_http_responses_total{code=\"401\"} 2\n", true);
	has(page, "smartconnect_http_responses_total{code=\"200\"}", false);
	has(page, "smartconnect_modbus_clients_replaced_total 5\n", true);
	has(page, "# TYPE smartconnect_modbus_clients_replaced_total counter\n", true);
	has(page, "smartconnect_modbus_requests_total{function=\"4\"} 1\n", true);
	has(page, "smartconnect_modbus_requests_total{function=\"3\"} 0\n", true);
	has(page, "smartconnect_modbus_requests_total{function=\"other\"} 2\n", true);
	has(page, "smartconnect_modbus_exceptions_total{code=\"2\"} 1\n", true);
	has(page, "smartconnect_modbus_exceptions_total{code=\"11\"} 0\n", true);
	has(page, "smartconnect_modbus_exceptions_total{code=\"5\"}", false);
	tap_ok(in.modbus.requests == 3 && in.modbus.exceptions == 2,
	       "the totals count every request and exception");
	has(page, "smartconnect_mqtt_enabled 1\n", true);
	tap_ok(page[strlen(page) - 1] == '\n', "the page ends with a newline");
	free(page);
}

static void test_reading(void)
{
	struct metrics_input in = { .reading = &v, .data_age_usec = 1500000, .meter_receiving = true };
	char *page;

	TAP_EQ_INT(decode("/ISK5\\2M550T-1012\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(190324150541W)\r\n"
			  "1-0:1.8.1(003432.829*kWh)\r\n1-0:1.8.2(003224.632*kWh)\r\n"
			  "1-0:2.8.1(000000.000*kWh)\r\n1-0:2.8.2(000001.500*kWh)\r\n"
			  "1-0:1.7.0(00.433*kW)\r\n1-0:2.7.0(00.000*kW)\r\n"
			  "1-0:32.7.0(236.7*V)\r\n1-0:31.7.0(002*A)\r\n1-0:21.7.0(00.433*kW)\r\n"
			  "0-1:24.1.0(003)\r\n0-1:96.1.0(4730303339303031373633333738373137)\r\n"
			  "0-1:24.2.1(180104231507W)(00212.529*m3)\r\n"
			  "0-2:24.1.0(007)\r\n0-2:24.2.1(180104231507W)(00008.579*m3)\r\n!"),
		   0, "telegram decodes");
	page = metrics_format(&in);
	tap_ok(page != NULL, "reading formats");
	if (!page)
		return;
	has(page, "smartconnect_power_watts 433\n", true);
	has(page, "smartconnect_phase_voltage_volts{phase=\"1\"} 236.7\n", true);
	has(page, "smartconnect_phase_voltage_volts{phase=\"2\"}", false);
	has(page, "smartconnect_phase_current_amperes{phase=\"1\"} 2\n", true);
	has(page, "smartconnect_line_voltage_volts", false);
	has(page, "smartconnect_tariff_energy_imported_joules_total{tariff=\"1\"} 12358184400\n", true);
	has(page, "smartconnect_tariff_energy_exported_joules_total{tariff=\"2\"} 5400000\n", true);
	has(page, "smartconnect_tariff_energy_imported_joules_total{tariff=\"3\"}", false);
	has(page, "smartconnect_energy_imported_joules_total 23966859600\n", true);
	has(page, "# TYPE smartconnect_energy_imported_joules_total counter\n", true);
	has(page, "smartconnect_meter_data_age_seconds 1.5\n", true);
	has(page, "# TYPE smartconnect_gas_cubic_meters_total counter\n", true);
	has(page, "smartconnect_gas_cubic_meters_total{channel=\"1\"} 212.529\n", true);
	has(page, "smartconnect_water_cubic_meters_total{channel=\"2\"} 8.579\n", true);
	has(page, "smartconnect_heat_joules_total", false);
	free(page);
}

int main(void)
{
	test_empty();
	test_reading();
	return tap_done();
}
