/* SPDX-License-Identifier: MIT */
/*
 * Golden tests of the status sections: a table of meter reports (as the
 * daemon copies them out of the meter) and the objects they must give, then
 * the small sections (mqtt, modbus, network) and the state names.
 */
#include <stdio.h>

#include "smartconnectd/outputs/status.h"
#include "tap.h"

static bool same(json_t *got, const char *want_text, const char *what)
{
	json_t *want = json_loads(want_text, 0, NULL);
	char *text = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	bool ok = want && got && json_equal(got, want);

	tap_ok(ok, "%s", what);
	if (!ok)
		tap_diag("got %s, want %s", text ? text : "NULL", want_text);
	free(text);
	json_decref(want);
	return ok;
}

static void test_meter(void)
{
	static struct snapshot snap = {
		.generation = 7,
		.real_usec = 1700000000 * USEC_PER_SEC + 500000,
		.v = { .version = "5.0", .id = "E0047000000000000" },
	};
	static const struct {
		struct status_meter_report r;
		const char *want; /* power_instant: checked apart */
	} cases[] = {
		{ { .state = STATUS_METER_STOPPED, .status = "stopped", .device = "/dev/ttyUSB0" },
		  "{\"state\":\"stopped\",\"status\":\"stopped\",\"device\":\"/dev/"
		  "ttyUSB0\",\"source\":\"tty\",\"protocol\":null,"
		  "\"version\":null,\"id\":null,\"last_telegram\":null,\"stale\":false,\"telegrams_pass\":0,"
		  "\"telegrams_fail\":0,\"frame_fail\":0,\"power_instant\":null}" },
		{ { .state = STATUS_METER_DEVICE_MISSING,
		    .status = "meter device missing, retrying",
		    .device = "/dev/ttyAMA0",
		    .frame_fail = 3 },
		  "{\"state\":\"device-missing\",\"status\":\"meter device missing, retrying\","
		  "\"device\":\"/dev/"
		  "ttyAMA0\",\"source\":\"tty\",\"protocol\":null,\"version\":null,\"id\":null,"
		  "\"last_telegram\":null,\"stale\":false,\"telegrams_pass\":0,\"telegrams_fail\":0,"
		  "\"frame_fail\":3,\"power_instant\":null}" },
		{ { .state = STATUS_METER_DEVICE_MISSING,
		    .status = "meter source unreachable, retrying",
		    .device = "tcp://[2001:db8::1]:2000" },
		  "{\"state\":\"device-missing\",\"status\":\"meter source unreachable, retrying\","
		  "\"device\":\"tcp://"
		  "[2001:db8::1]:2000\",\"source\":\"tcp\",\"protocol\":null,\"version\":null,"
		  "\"id\":null,\"last_telegram\":null,\"stale\":false,\"telegrams_pass\":0,\"telegrams_"
		  "fail\":0,"
		  "\"frame_fail\":0,\"power_instant\":null}" },
		{ { .state = STATUS_METER_NO_DATA,
		    .status = "no meter data",
		    .device = "/dev/ttyUSB0",
		    .protocol = "" },
		  "{\"state\":\"no-data\",\"status\":\"no meter "
		  "data\",\"device\":\"/dev/ttyUSB0\",\"source\":\"tty\","
		  "\"protocol\":null,\"version\":null,\"id\":null,\"last_telegram\":null,\"stale\":false,"
		  "\"telegrams_pass\":0,\"telegrams_fail\":0,\"frame_fail\":0,\"power_instant\":null}" },
		{ { .state = STATUS_METER_RECEIVING,
		    .status = "receiving DSMR 5.0 telegrams",
		    .device = "/dev/ttyUSB0",
		    .protocol = "dsmr",
		    .telegrams_pass = 120,
		    .telegrams_fail = 2,
		    .frame_fail = 1,
		    .snap = &snap },
		  "{\"state\":\"receiving\",\"status\":\"receiving DSMR 5.0 telegrams\","
		  "\"device\":\"/dev/ttyUSB0\",\"source\":\"tty\",\"protocol\":\"dsmr\",\"version\":\"5.0\","
		  "\"id\":\"E0047000000000000\",\"last_telegram\":1700000000,\"stale\":false,"
		  "\"telegrams_pass\":120,\"telegrams_fail\":2,\"frame_fail\":1}" },
		{ { .state = STATUS_METER_STALE,
		    .status = "meter data stale, no telegram for 30s",
		    .device = "/dev/ttyUSB0",
		    .protocol = "dsmr",
		    .stale = true,
		    .telegrams_pass = 5,
		    .snap = &snap },
		  "{\"state\":\"stale\",\"status\":\"meter data stale, no telegram for 30s\","
		  "\"device\":\"/dev/ttyUSB0\",\"source\":\"tty\",\"protocol\":\"dsmr\",\"version\":\"5.0\","
		  "\"id\":\"E0047000000000000\",\"last_telegram\":1700000000,\"stale\":true,"
		  "\"telegrams_pass\":5,\"telegrams_fail\":0,\"frame_fail\":0}" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *o = status_meter(&cases[i].r);
		char what[64];

		snprintf(what, sizeof(what), "meter report %zu (%s)", i,
			 status_meter_state_to_string(cases[i].r.state));
		if (o && cases[i].r.snap) {
			/* Its shape is reading_json's, tested there; here: it is there. */
			tap_ok(json_is_object(json_object_get(o, "power_instant")), "%s: power_instant",
			       what);
			json_object_del(o, "power_instant");
		}
		same(o, cases[i].want, what);
		json_decref(o);
	}
}

static void test_sections(void)
{
	struct netinfo ni = { .interface = "eth0",
			      .link = NETINFO_LINK_UP,
			      .address = "192.168.1.20",
			      .gateway = "192.168.1.1" };
	json_t *o;

	o = status_mqtt(true, "connected", NULL);
	same(o, "{\"enabled\":true,\"state\":\"connected\",\"last_error\":null}", "mqtt, no error");
	json_decref(o);
	o = status_mqtt(true, "disconnected", "connection refused");
	same(o, "{\"enabled\":true,\"state\":\"disconnected\",\"last_error\":\"connection refused\"}",
	     "mqtt, an error");
	json_decref(o);
	o = status_modbus(2, 502, "SunSpec");
	same(o, "{\"clients\":2,\"port\":502,\"meter_type\":\"SunSpec\"}", "modbus");
	json_decref(o);
	o = status_network(&ni, 1, -1);
	same(o,
	     "{\"interface\":\"eth0\",\"link\":\"up\",\"address\":\"192.168.1.20\",\"gateway\":\"192.168.1."
	     "1\","
	     "\"gateway_reachable\":true,\"internet_reachable\":null}",
	     "network, internet unknown");
	json_decref(o);
}

static void test_names(void)
{
	TAP_EQ_STR(status_meter_state_to_string(STATUS_METER_DEVICE_MISSING), "device-missing", "state name");
	tap_ok(status_meter_state_to_string(_STATUS_METER_STATE_MAX) == NULL, "no name out of range");
	for (int s = 0; s < _STATUS_METER_STATE_MAX; s++)
		tap_ok(status_meter_state_to_string((enum status_meter_state) s) != NULL,
		       "state %d has a name", s);
}

int main(void)
{
	test_meter();
	test_sections();
	test_names();
	return tap_done();
}
