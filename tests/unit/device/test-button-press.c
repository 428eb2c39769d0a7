/* SPDX-License-Identifier: MIT */
/* The button's durations and key names, as tables. */
#include <errno.h>
#include <linux/input-event-codes.h>

#include "smartconnectd/device/button-press.h"
#include "tap.h"

#define S(x) ((uint64_t) ((x) *1000000.0))

int main(void)
{
	static const struct {
		uint64_t held;
		enum button_action want;
	} presses[] = {
		{ 0, BUTTON_ACTION_SOFT_RESET },
		{ S(0.1), BUTTON_ACTION_SOFT_RESET },
		{ S(1.999999), BUTTON_ACTION_SOFT_RESET },
		{ S(2), BUTTON_ACTION_NONE },
		{ S(4.9), BUTTON_ACTION_NONE },
		{ S(5), BUTTON_ACTION_AP_MODE },
		{ S(7), BUTTON_ACTION_AP_MODE },
		{ S(10), BUTTON_ACTION_AP_MODE },
		{ S(10.000001), BUTTON_ACTION_FACTORY_RESET },
		{ S(3600), BUTTON_ACTION_FACTORY_RESET },
	};
	static const struct {
		const char *s;
		int want;
	} keys[] = {
		{ "KEY_RESTART", KEY_RESTART },
		{ "KEY_POWER", KEY_POWER },
		{ "BTN_0", BTN_0 },
		{ "408", 408 },
		{ "0x198", 0x198 },
		{ "1", 1 },
		{ "KEY_NOPE", -EINVAL },
		{ "", -EINVAL },
		{ "0", -EINVAL },
		{ "99999", -EINVAL },
		{ "12abc", -EINVAL },
		{ "-1", -EINVAL },
		{ "key_restart", -EINVAL },
	};

	for (size_t i = 0; i < sizeof(presses) / sizeof(presses[0]); i++)
		tap_ok(button_press_action(presses[i].held) == presses[i].want, "%.6f s: %s",
		       (double) presses[i].held / 1e6, button_action_to_string(presses[i].want));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		tap_ok(button_press_key_from_string(keys[i].s) == keys[i].want, "key '%s' -> %d", keys[i].s,
		       keys[i].want);
	return tap_done();
}
