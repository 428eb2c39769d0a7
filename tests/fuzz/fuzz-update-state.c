/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the update helper's state file (update_state_parse): any
 * bytes as the file. Besides not crashing, it checks that an accepted file
 * gives a known phase, versions that are valid or empty, and a printable
 * reason within its bound; a refused one gives the empty idle state; and the
 * merge with any unit state keeps the phase in range.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "smartconnectd/device/update-state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_state(const struct update_state *st)
{
	assert(update_phase_to_string(st->phase));
	assert(!st->installed[0] || update_version_valid(st->installed));
	assert(!st->candidate[0] || update_version_valid(st->candidate));
	assert(strlen(st->reason) < UPDATE_REASON_MAX);
	for (const char *p = st->reason; *p; p++)
		assert(*p >= 0x20 && *p < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const states[] = { "activating", "inactive", "failed", "active" };
	struct update_state st;
	int r;

	if (size > UPDATE_STATE_FILE_MAX)
		return 0;
	r = update_state_parse((const char *) data, size, &st);
	assert(r == 0 || r == -EINVAL);
	if (r < 0) {
		assert(st.phase == UPDATE_PHASE_IDLE && !st.installed[0] && !st.candidate[0] &&
		       !st.reason[0]);
		return 0;
	}
	check_state(&st);
	for (size_t i = 0; i < 4; i++) {
		struct update_state m = st;
		struct update_unit_view units[] = {
			{ "smartconnect-update.service", true, states[i], size & 1 ? "signal" : "success" },
			{ "smartconnect-update-check.service", true, "inactive", "success" },
		};

		update_state_merge(&m, units, 2);
		check_state(&m);
	}
	return 0;
}
