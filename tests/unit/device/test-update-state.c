/* SPDX-License-Identifier: MIT */
/* The update helper's state file and its merge with the units' state, as tables. */
#include <errno.h>

#include <string.h>

#include "smartconnectd/device/update-state.h"
#include "tap.h"

static void test_parse(void)
{
	static const struct {
		const char *text;
		int r;
		enum update_phase phase;
		const char *installed, *candidate, *reason;
		uint64_t time;
	} cases[] = {
		{ "", 0, UPDATE_PHASE_IDLE, "", "", "", 0 },
		{ "state=done\ninstalled=0.1.1\ncandidate=0.1.1\ntime=1796000000\n", 0, UPDATE_PHASE_DONE,
		  "0.1.1", "0.1.1", "", 1796000000 },
		{ "state=failed\nreason=apt-get update: E: Failed to fetch "
		  "file:/srv/repo\ninstalled=1:2.0~rc1+deb12u1-3\n",
		  0, UPDATE_PHASE_FAILED, "1:2.0~rc1+deb12u1-3", "",
		  "apt-get update: E: Failed to fetch file:/srv/repo", 0 },
		/* no newline at the end, unknown keys, empty lines, an empty candidate */
		{ "future=1\n\nstate=installing\ncandidate=", 0, UPDATE_PHASE_INSTALLING, "", "", "", 0 },
		{ "state=checking\r\n", -EINVAL, UPDATE_PHASE_IDLE, "", "", "", 0 },
		{ "state=DONE\n", -EINVAL, UPDATE_PHASE_IDLE, "", "", "", 0 },
		{ "state=\n", -EINVAL, UPDATE_PHASE_IDLE, "", "", "", 0 },
		{ "state=downloadingdownloading\n", -EINVAL, UPDATE_PHASE_IDLE, "", "", "", 0 },
		{ "state done\n", -EINVAL, UPDATE_PHASE_IDLE, "", "", "", 0 },
		{ "installed=0.1.0;rm -rf /\n", -EINVAL, UPDATE_PHASE_IDLE, "", "", "", 0 },
		{ "installed=v0.1\n", -EINVAL, UPDATE_PHASE_IDLE, "", "", "", 0 },
		{ "candidate=0.1.0 \n", -EINVAL, UPDATE_PHASE_IDLE, "", "", "", 0 },
		{ "candidate=1234567890123456789012345678901234567890123456789012345678901234\n", -EINVAL,
		  UPDATE_PHASE_IDLE, "", "", "", 0 },
		{ "time=-1\n", -EINVAL, UPDATE_PHASE_IDLE, "", "", "", 0 },
		{ "time=99999999999999999999\n", -EINVAL, UPDATE_PHASE_IDLE, "", "", "", 0 },
		{ "time=\n", -EINVAL, UPDATE_PHASE_IDLE, "", "", "", 0 },
		/* a later bad line spoils what came before */
		{ "state=done\ninstalled=0.2\nstate=bogus\n", -EINVAL, UPDATE_PHASE_IDLE, "", "", "", 0 },
		/* reasons: control bytes and non-ASCII become '?', = inside is kept */
		{ "reason=a=b\tc\x1b[31m\xc3\xa9\n", 0, UPDATE_PHASE_IDLE, "", "", "a=b?c?[31m??", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct update_state st;
		int r = update_state_parse(cases[i].text, strlen(cases[i].text), &st);

		tap_ok(r == cases[i].r && st.phase == cases[i].phase &&
			   strcmp(st.installed, cases[i].installed) == 0 &&
			   strcmp(st.candidate, cases[i].candidate) == 0 &&
			   strcmp(st.reason, cases[i].reason) == 0 && st.time == cases[i].time,
		       "parse case %zu: r=%d phase=%s installed='%s' candidate='%s' reason='%s'", i, r,
		       update_phase_to_string(st.phase), st.installed, st.candidate, st.reason);
	}
}

static void test_hostile(void)
{
	char big[3 * UPDATE_REASON_MAX];
	struct update_state st = { .phase = UPDATE_PHASE_IDLE };
	static const char nul[] = "state=done\0state=bogus\n";
	int r;

	memset(big, 'x', sizeof(big));
	memcpy(big, "reason=", 7);
	r = update_state_parse(big, sizeof(big), &st);
	tap_ok(r == 0 && strlen(st.reason) == UPDATE_REASON_MAX - 1,
	       "an oversized reason is cut to %zu bytes", strlen(st.reason));
	/* the length, not a NUL, ends the text: the NUL is inside a state value */
	tap_ok(update_state_parse(nul, sizeof(nul) - 1, &st) == -EINVAL, "a NUL inside a line is refused");
	tap_ok(update_state_parse("state=done", 6, &st) == -EINVAL, "a truncated line is refused");
	tap_ok(update_state_parse("state=done", 10, &st) == 0 && st.phase == UPDATE_PHASE_DONE,
	       "the length bounds the text");
}

static void test_versions(void)
{
	static const struct {
		const char *v;
		bool ok;
	} cases[] = {
		{ "0.1.0", true }, { "1:0.1.0-1", true }, { "0.1.0+test1~bpo12", true }, { "", false },
		{ "a1", false },   { "0.1 ", false },     { "0.1/..", false },           { "0.1\n", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		/* Printed up to a newline: a raw one would end the TAP line. */
		tap_ok(update_version_valid(cases[i].v) == cases[i].ok, "version '%.*s%s' %s",
		       (int) strcspn(cases[i].v, "\n"), cases[i].v, strchr(cases[i].v, '\n') ? "\\n" : "",
		       cases[i].ok ? "valid" : "refused");
}

static void test_merge(void)
{
	static const struct {
		enum update_phase file;
		bool known;
		const char *install_active, *install_result, *check_active, *check_result;
		enum update_phase want;
		const char *reason_has;
	} cases[] = {
		/* nothing known yet: the file as it is */
		{ UPDATE_PHASE_INSTALLING, false, "inactive", "exit-code", "inactive", "success",
		  UPDATE_PHASE_INSTALLING, "" },
		{ UPDATE_PHASE_DONE, true, "inactive", "success", "inactive", "success", UPDATE_PHASE_DONE,
		  "" },
		{ UPDATE_PHASE_IDLE, true, "inactive", "success", "inactive", "success", UPDATE_PHASE_IDLE,
		  "" },
		/* a unit runs, the helper has not written yet */
		{ UPDATE_PHASE_DONE, true, "activating", "success", "inactive", "success",
		  UPDATE_PHASE_CHECKING, "" },
		{ UPDATE_PHASE_FAILED, true, "inactive", "success", "activating", "success",
		  UPDATE_PHASE_CHECKING, "" },
		{ UPDATE_PHASE_INSTALLING, true, "activating", "success", "inactive", "success",
		  UPDATE_PHASE_INSTALLING, "" },
		{ UPDATE_PHASE_DOWNLOADING, true, "deactivating", "success", "inactive", "success",
		  UPDATE_PHASE_DOWNLOADING, "" },
		/* the helper was killed half way */
		{ UPDATE_PHASE_INSTALLING, true, "failed", "signal", "inactive", "success",
		  UPDATE_PHASE_FAILED, "smartconnect-update.service ended with result signal" },
		{ UPDATE_PHASE_CHECKING, true, "inactive", "success", "failed", "timeout",
		  UPDATE_PHASE_FAILED, "smartconnect-update-check.service ended with result timeout" },
		{ UPDATE_PHASE_CHECKING, true, "inactive", "success", "inactive", "success",
		  UPDATE_PHASE_FAILED, "stopped before it finished" },
		/* a failed unit after a finished file: the file's word stands */
		{ UPDATE_PHASE_FAILED, true, "failed", "exit-code", "inactive", "success",
		  UPDATE_PHASE_FAILED, "" },
		{ UPDATE_PHASE_DONE, true, "failed", "exit-code", "inactive", "success", UPDATE_PHASE_DONE,
		  "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct update_state st = { .phase = cases[i].file };
		struct update_unit_view units[] = {
			{ "smartconnect-update.service", cases[i].known, cases[i].install_active,
			  cases[i].install_result },
			{ "smartconnect-update-check.service", cases[i].known, cases[i].check_active,
			  cases[i].check_result },
		};

		update_state_merge(&st, units, 2);
		tap_ok(st.phase == cases[i].want && strstr(st.reason, cases[i].reason_has),
		       "merge case %zu: %s -> %s (%s)", i, update_phase_to_string(cases[i].file),
		       update_phase_to_string(st.phase), st.reason);
	}
}

static void test_available(void)
{
	struct update_state st = { .phase = UPDATE_PHASE_IDLE };

	tap_ok(!update_state_available(&st), "no candidate: nothing available");
	strcpy(st.installed, "0.1.0");
	strcpy(st.candidate, "0.1.0");
	tap_ok(!update_state_available(&st), "candidate = installed: nothing available");
	strcpy(st.candidate, "0.1.1");
	tap_ok(update_state_available(&st), "candidate 0.1.1 over 0.1.0: available");
	for (int p = 0; p < _UPDATE_PHASE_MAX; p++)
		tap_ok(update_phase_from_string(update_phase_to_string(p)) == (enum update_phase) p,
		       "phase %s round-trips", update_phase_to_string(p));
	tap_ok(update_phase_to_string(_UPDATE_PHASE_MAX) == NULL, "no name out of range");
}

int main(void)
{
	test_parse();
	test_hostile();
	test_versions();
	test_merge();
	test_available();
	return tap_done();
}
