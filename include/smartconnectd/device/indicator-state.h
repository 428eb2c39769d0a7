/* SPDX-License-Identifier: MIT */
/*
 * What the status LED shows: the daemon's states in, one pattern out, and
 * what each pattern does to each colour (the manual's LED table). Blinking is
 * described as the kernel's timer trigger runs it (delay_on, delay_off in
 * milliseconds), so the daemon never wakes up per blink.
 *
 * Pure: no I/O, never logs. Unit-tested as a table.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

enum indicator_pattern {
	INDICATOR_OFF,            /* daemon not running */
	INDICATOR_STARTING,       /* steady red */
	INDICATOR_INITIALISING,   /* colours cycling */
	INDICATOR_NORMAL,         /* steady green: meter data and the network up */
	INDICATOR_NO_DATA,        /* red/green alternating, 1 Hz */
	INDICATOR_NO_IP,          /* green/orange alternating, 1 Hz */
	INDICATOR_NO_DATA_NO_IP,  /* red/orange alternating, 1 Hz */
	INDICATOR_AP_MODE,        /* blue blinking, 1 Hz */
	INDICATOR_IDENTIFY,       /* every colour blinking, 4 Hz */
	INDICATOR_BUTTON_PRESSED, /* every colour steady: the press is seen */
	INDICATOR_BUTTON_AP,      /* blue blinking, 2 Hz: release now for AP mode */
	INDICATOR_BUTTON_FACTORY, /* red blinking, 2 Hz: release now for a factory reset */
	_INDICATOR_PATTERN_MAX,
};

enum indicator_phase {
	INDICATOR_PHASE_STARTING,     /* before READY=1 */
	INDICATOR_PHASE_INITIALISING, /* after READY=1, until the first telegram or the window ends */
	INDICATOR_PHASE_RUNNING,
	_INDICATOR_PHASE_MAX,
};

/* How far a held button is: which action a release would start. */
enum indicator_button {
	INDICATOR_BUTTON_UP,
	INDICATOR_BUTTON_DOWN,           /* held, not yet 5 s */
	INDICATOR_BUTTON_AP_PASSED,      /* held 5 s or more */
	INDICATOR_BUTTON_FACTORY_PASSED, /* held more than 10 s */
	_INDICATOR_BUTTON_MAX,
};

/* The daemon's states the LED tells about. */
struct indicator_inputs {
	enum indicator_phase phase;
	bool meter_receiving; /* fresh telegrams (not stale, not missing) */
	bool network_up;      /* an IPv4 address and a default route */
	bool mqtt_trouble;    /* MQTT enabled and not connected: no pattern of its own */
	bool ap_mode;
	bool identify;
	enum indicator_button button;
};

enum indicator_colour {
	INDICATOR_RED,
	INDICATOR_GREEN,
	INDICATOR_BLUE,
	_INDICATOR_COLOUR_MAX,
};

/* One colour (or the whole multicolour LED): off, steady (delay_on_ms 0) or
 * blinking by the timer trigger. */
struct indicator_light {
	bool on;
	uint32_t delay_on_ms, delay_off_ms;
};

struct indicator_look {
	struct indicator_light colour[_INDICATOR_COLOUR_MAX]; /* separate LEDs */
	/* A multicolour LED has one brightness and one timer: the colours it mixes
	 * (each on or off) and how it blinks. */
	bool mix[_INDICATOR_COLOUR_MAX];
	struct indicator_light multi;
};

/* The pattern for these states. Priority: a held button, identify, starting,
 * AP mode, initialising, then meter data x network. MQTT trouble shows no
 * pattern (the manual has none); the STATUS= line and the status tell it. */
enum indicator_pattern indicator_state_pattern(const struct indicator_inputs *in) __attribute__((pure));

/* The look of p; never NULL (out of range reads as INDICATOR_OFF). */
const struct indicator_look *indicator_state_look(enum indicator_pattern p) __attribute__((const));

/* "no-data" etc.; NULL out of range. */
const char *indicator_pattern_to_string(enum indicator_pattern p) __attribute__((const));
