/* SPDX-License-Identifier: MIT */
/*
 * The status LED's patterns (see indicator-state.h): the priority of the
 * daemon's states and one table of looks. Pure, never logs.
 *
 * An alternating pair is two colours on their own timers: "red/orange" is red
 * steady with green blinking over it, since orange is red + green. The exact
 * phase of two timers is the kernel's; the manual's patterns do not need it.
 */
#include <stddef.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/device/indicator-state.h"

#define STEADY             \
	{                  \
		.on = true \
	}
#define BLINK(on_ms, off_ms)                                                 \
	{                                                                    \
		.on = true, .delay_on_ms = (on_ms), .delay_off_ms = (off_ms) \
	}
#define HZ1 BLINK(500, 500)
#define HZ2 BLINK(250, 250)
#define HZ4 BLINK(125, 125)

/*
 * Indexed by pattern; colours red, green, blue. A multicolour LED has one
 * timer, so it cannot alternate two colours: it blinks one colour instead,
 * red for no data, orange at 1 Hz for no address, orange at 2 Hz for neither,
 * and white for initialising.
 */
static const struct indicator_look looks[_INDICATOR_PATTERN_MAX] = {
	[INDICATOR_OFF] = { { { 0 } } },
	[INDICATOR_STARTING] = { .colour = { STEADY }, .mix = { true }, .multi = STEADY },
	[INDICATOR_INITIALISING] = { .colour = { BLINK(300, 600), BLINK(400, 500), BLINK(500, 400) },
				     .mix = { true, true, true },
				     .multi = BLINK(300, 300) },
	[INDICATOR_NORMAL] = { .colour = { [INDICATOR_GREEN] = STEADY },
			       .mix = { [INDICATOR_GREEN] = true },
			       .multi = STEADY },
	[INDICATOR_NO_DATA] = { .colour = { HZ1, HZ1 }, .mix = { true }, .multi = HZ1 },
	[INDICATOR_NO_IP] = { .colour = { HZ1, STEADY }, .mix = { true, true }, .multi = HZ1 },
	[INDICATOR_NO_DATA_NO_IP] = { .colour = { STEADY, HZ1 }, .mix = { true, true }, .multi = HZ2 },
	[INDICATOR_AP_MODE] = { .colour = { [INDICATOR_BLUE] = HZ1 },
				.mix = { [INDICATOR_BLUE] = true },
				.multi = HZ1 },
	[INDICATOR_IDENTIFY] = { .colour = { HZ4, HZ4, HZ4 }, .mix = { true, true, true }, .multi = HZ4 },
	[INDICATOR_BUTTON_PRESSED] = { .colour = { STEADY, STEADY, STEADY },
				       .mix = { true, true, true },
				       .multi = STEADY },
	[INDICATOR_BUTTON_AP] = { .colour = { [INDICATOR_BLUE] = HZ2 },
				  .mix = { [INDICATOR_BLUE] = true },
				  .multi = HZ2 },
	[INDICATOR_BUTTON_FACTORY] = { .colour = { HZ2 }, .mix = { true }, .multi = HZ2 },
};

static const char *const pattern_names[_INDICATOR_PATTERN_MAX] = {
	[INDICATOR_OFF] = "off",
	[INDICATOR_STARTING] = "starting",
	[INDICATOR_INITIALISING] = "initialising",
	[INDICATOR_NORMAL] = "normal",
	[INDICATOR_NO_DATA] = "no-data",
	[INDICATOR_NO_IP] = "no-ip",
	[INDICATOR_NO_DATA_NO_IP] = "no-data-no-ip",
	[INDICATOR_AP_MODE] = "ap-mode",
	[INDICATOR_IDENTIFY] = "identify",
	[INDICATOR_BUTTON_PRESSED] = "button-pressed",
	[INDICATOR_BUTTON_AP] = "button-ap",
	[INDICATOR_BUTTON_FACTORY] = "button-factory-reset",
};

DEFINE_STRING_TABLE_TO(indicator_pattern, enum indicator_pattern, pattern_names)

static enum indicator_pattern running_pattern(const struct indicator_inputs *in)
{
	if (in->meter_receiving)
		return in->network_up ? INDICATOR_NORMAL : INDICATOR_NO_IP;
	return in->network_up ? INDICATOR_NO_DATA : INDICATOR_NO_DATA_NO_IP;
}

enum indicator_pattern indicator_state_pattern(const struct indicator_inputs *in)
{
	static const enum indicator_pattern held[_INDICATOR_BUTTON_MAX] = {
		[INDICATOR_BUTTON_DOWN] = INDICATOR_BUTTON_PRESSED,
		[INDICATOR_BUTTON_AP_PASSED] = INDICATOR_BUTTON_AP,
		[INDICATOR_BUTTON_FACTORY_PASSED] = INDICATOR_BUTTON_FACTORY,
	};

	if (in->button > INDICATOR_BUTTON_UP && in->button < _INDICATOR_BUTTON_MAX)
		return held[in->button];
	if (in->identify)
		return INDICATOR_IDENTIFY;
	if (in->phase == INDICATOR_PHASE_STARTING)
		return INDICATOR_STARTING;
	if (in->ap_mode)
		return INDICATOR_AP_MODE;
	if (in->phase == INDICATOR_PHASE_INITIALISING && !in->meter_receiving)
		return INDICATOR_INITIALISING;
	return running_pattern(in);
}

const struct indicator_look *indicator_state_look(enum indicator_pattern p)
{
	return &looks[(size_t) p < ARRAY_SIZE(looks) ? p : INDICATOR_OFF];
}
