/* SPDX-License-Identifier: MIT */
/* The LED's pattern for each combination of the daemon's states, as a table,
 * and the looks the manual's table asks for. */
#include "smartconnectd/device/indicator-state.h"
#include "tap.h"

#define RUN INDICATOR_PHASE_RUNNING
#define INIT INDICATOR_PHASE_INITIALISING
#define START INDICATOR_PHASE_STARTING
#define UP INDICATOR_BUTTON_UP

static const struct {
	struct indicator_inputs in;
	enum indicator_pattern want;
} rows[] = {
	/* phase, meter, network, mqtt trouble, ap, identify, button */
	{ { START, false, false, false, false, false, UP }, INDICATOR_STARTING },
	{ { START, true, true, false, false, false, UP }, INDICATOR_STARTING },
	{ { INIT, false, true, false, false, false, UP }, INDICATOR_INITIALISING },
	{ { INIT, false, false, false, false, false, UP }, INDICATOR_INITIALISING },
	{ { INIT, true, true, false, false, false, UP }, INDICATOR_NORMAL },
	{ { RUN, true, true, false, false, false, UP }, INDICATOR_NORMAL },
	{ { RUN, true, true, true, false, false, UP }, INDICATOR_NORMAL },
	{ { RUN, false, true, false, false, false, UP }, INDICATOR_NO_DATA },
	{ { RUN, true, false, false, false, false, UP }, INDICATOR_NO_IP },
	{ { RUN, false, false, false, false, false, UP }, INDICATOR_NO_DATA_NO_IP },
	{ { RUN, false, false, true, false, false, UP }, INDICATOR_NO_DATA_NO_IP },
	{ { RUN, true, true, false, true, false, UP }, INDICATOR_AP_MODE },
	{ { INIT, false, false, false, true, false, UP }, INDICATOR_AP_MODE },
	{ { RUN, true, true, false, false, true, UP }, INDICATOR_IDENTIFY },
	{ { START, false, false, false, true, true, UP }, INDICATOR_IDENTIFY },
	{ { RUN, true, true, false, false, true, INDICATOR_BUTTON_DOWN }, INDICATOR_BUTTON_PRESSED },
	{ { RUN, false, false, false, true, false, INDICATOR_BUTTON_AP_PASSED }, INDICATOR_BUTTON_AP },
	{ { RUN, true, true, false, false, false, INDICATOR_BUTTON_FACTORY_PASSED },
	  INDICATOR_BUTTON_FACTORY },
};

static bool light_is(const struct indicator_light *l, bool on, uint32_t don, uint32_t doff)
{
	return l->on == on && l->delay_on_ms == don && l->delay_off_ms == doff;
}

static void test_looks(void)
{
	const struct indicator_look *l;

	l = indicator_state_look(INDICATOR_STARTING);
	tap_ok(light_is(&l->colour[INDICATOR_RED], true, 0, 0) && !l->colour[INDICATOR_GREEN].on &&
		   !l->colour[INDICATOR_BLUE].on,
	       "starting: steady red");
	l = indicator_state_look(INDICATOR_NORMAL);
	tap_ok(light_is(&l->colour[INDICATOR_GREEN], true, 0, 0) && !l->colour[INDICATOR_RED].on,
	       "normal: steady green");
	l = indicator_state_look(INDICATOR_NO_DATA);
	tap_ok(light_is(&l->colour[INDICATOR_RED], true, 500, 500) &&
		   light_is(&l->colour[INDICATOR_GREEN], true, 500, 500),
	       "no data: red and green on 1 Hz timers");
	l = indicator_state_look(INDICATOR_NO_IP);
	tap_ok(light_is(&l->colour[INDICATOR_GREEN], true, 0, 0) &&
		   light_is(&l->colour[INDICATOR_RED], true, 500, 500),
	       "no IP: green steady, red blinking over it (green/orange)");
	l = indicator_state_look(INDICATOR_NO_DATA_NO_IP);
	tap_ok(light_is(&l->colour[INDICATOR_RED], true, 0, 0) &&
		   light_is(&l->colour[INDICATOR_GREEN], true, 500, 500),
	       "neither: red steady, green blinking over it (red/orange)");
	l = indicator_state_look(INDICATOR_AP_MODE);
	tap_ok(light_is(&l->colour[INDICATOR_BLUE], true, 500, 500) && !l->colour[INDICATOR_RED].on,
	       "AP mode: blue blinking");
	l = indicator_state_look(INDICATOR_IDENTIFY);
	tap_ok(light_is(&l->colour[INDICATOR_BLUE], true, 125, 125) &&
		   light_is(&l->colour[INDICATOR_RED], true, 125, 125),
	       "identify: every colour at 4 Hz");
	l = indicator_state_look(INDICATOR_OFF);
	tap_ok(!l->colour[0].on && !l->colour[1].on && !l->colour[2].on && !l->multi.on, "off: nothing on");
	tap_ok(indicator_state_look((enum indicator_pattern) 999) == indicator_state_look(INDICATOR_OFF),
	       "out of range reads as off");
}

int main(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		enum indicator_pattern got = indicator_state_pattern(&rows[i].in);

		tap_ok(got == rows[i].want, "row %zu: %s (want %s)", i, indicator_pattern_to_string(got),
		       indicator_pattern_to_string(rows[i].want));
	}
	for (int p = 0; p < _INDICATOR_PATTERN_MAX; p++)
		tap_ok(indicator_pattern_to_string((enum indicator_pattern) p) != NULL,
		       "pattern %d has a name", p);
	test_looks();
	return tap_done();
}
