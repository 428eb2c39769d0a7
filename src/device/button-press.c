/* SPDX-License-Identifier: MIT */
/*
 * The push button's rules (see button-press.h). Pure, never logs.
 *
 * Key names come from a short table rather than libevdev: the daemon needs
 * only the few keys a gpio-keys button is wired to send, and a number covers
 * any other.
 */
#include <errno.h>
#include <linux/input-event-codes.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/device/button-press.h"

static const struct {
	const char *name;
	int code;
} keys[] = {
	{ "KEY_RESTART", KEY_RESTART },
	{ "KEY_POWER", KEY_POWER },
	{ "KEY_SETUP", KEY_SETUP },
	{ "KEY_CONFIG", KEY_CONFIG },
	{ "KEY_CONNECT", KEY_CONNECT },
	{ "KEY_WPS_BUTTON", KEY_WPS_BUTTON },
	{ "KEY_ENTER", KEY_ENTER },
	{ "KEY_PROG1", KEY_PROG1 },
	{ "KEY_PROG2", KEY_PROG2 },
	{ "KEY_VENDOR", KEY_VENDOR },
	{ "BTN_0", BTN_0 },
	{ "BTN_1", BTN_1 },
	{ "BTN_MISC", BTN_MISC },
};

static const char *const action_names[_BUTTON_ACTION_MAX] = {
	[BUTTON_ACTION_SOFT_RESET] = "soft-reset",
	[BUTTON_ACTION_NONE] = "none",
	[BUTTON_ACTION_AP_MODE] = "ap-mode",
	[BUTTON_ACTION_FACTORY_RESET] = "factory-reset",
};

DEFINE_STRING_TABLE_TO(button_action, enum button_action, action_names)

enum button_action button_press_action(uint64_t held_usec)
{
	if (held_usec < BUTTON_SOFT_RESET_USEC)
		return BUTTON_ACTION_SOFT_RESET;
	if (held_usec < BUTTON_AP_MODE_USEC)
		return BUTTON_ACTION_NONE;
	if (held_usec <= BUTTON_FACTORY_USEC)
		return BUTTON_ACTION_AP_MODE;
	return BUTTON_ACTION_FACTORY_RESET;
}

int button_press_key_from_string(const char *s)
{
	unsigned long v;
	char *end;

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (strcmp(s, keys[i].name) == 0)
			return keys[i].code;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || v < 1 || v > KEY_MAX)
		return -EINVAL;
	return (int) v;
}
