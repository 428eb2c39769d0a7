/* SPDX-License-Identifier: MIT */
/*
 * One-shot timers on an sd-event loop that are armed again and again (reopen
 * and reconnect back-offs, frame gaps, dead-peer limits): the source is made
 * on first use and re-armed after that.
 */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

/* Fire cb once, usec from now (CLOCK_MONOTONIC). *src is created when NULL
 * and owned by the caller. Returns 0 or a negative errno; does not log. */
int event_timer_arm(sd_event *e, sd_event_source **src, uint64_t usec, sd_event_time_handler_t cb,
		    void *userdata);
