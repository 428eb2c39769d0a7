/* SPDX-License-Identifier: MIT */
/* One-shot relative timers (see event-timer.h). */
#include "smartconnectd/base/event-timer.h"

int event_timer_arm(sd_event *e, sd_event_source **src, uint64_t usec, sd_event_time_handler_t cb,
		    void *userdata)
{
	int r;

	if (!*src)
		return sd_event_add_time_relative(e, src, CLOCK_MONOTONIC, usec, 0, cb, userdata);
	r = sd_event_source_set_time_relative(*src, usec);
	if (r < 0)
		return r;
	return sd_event_source_set_enabled(*src, SD_EVENT_ONESHOT);
}
