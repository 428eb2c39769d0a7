/* SPDX-License-Identifier: MIT */
/*
 * The push button's rules: which key code a [Button] Key= names, and what a
 * press of a given length asks for (the manual: shorter than 2 s a soft
 * reset, 5 s AP mode, more than 10 s a factory reset).
 *
 * Pure: no I/O, never logs.
 */
#pragma once

#include <stdint.h>

#define BUTTON_SOFT_RESET_USEC (2 * UINT64_C(1000000)) /* shorter: soft reset */
#define BUTTON_AP_MODE_USEC (5 * UINT64_C(1000000))    /* from here: AP mode */
#define BUTTON_FACTORY_USEC (10 * UINT64_C(1000000))   /* longer: factory reset */

enum button_action {
	BUTTON_ACTION_SOFT_RESET,    /* < 2 s */
	BUTTON_ACTION_NONE,          /* 2 s to 5 s: too long for a reset, too short for AP mode */
	BUTTON_ACTION_AP_MODE,       /* 5 s to 10 s */
	BUTTON_ACTION_FACTORY_RESET, /* > 10 s */
	_BUTTON_ACTION_MAX,
};

/* What a press held this long asks for when released. */
enum button_action button_press_action(uint64_t held_usec) __attribute__((const));

/* The key code of "KEY_RESTART", "BTN_0" etc. (a short table of the keys a
 * gateway's button is likely to send) or of a number (decimal or 0x hex,
 * 1 to KEY_MAX). Returns the code or -EINVAL. */
int button_press_key_from_string(const char *s) __attribute__((pure));

/* "soft-reset", "none", "ap-mode", "factory-reset"; NULL out of range. */
const char *button_action_to_string(enum button_action a) __attribute__((const));
