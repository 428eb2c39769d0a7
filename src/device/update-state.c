/* SPDX-License-Identifier: MIT */
/* The package update's state file and what the units say (update-state.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/device/update-state.h"

static const char *const phase_names[_UPDATE_PHASE_MAX] = {
	[UPDATE_PHASE_IDLE] = "idle",
	[UPDATE_PHASE_CHECKING] = "checking",
	[UPDATE_PHASE_DOWNLOADING] = "downloading",
	[UPDATE_PHASE_INSTALLING] = "installing",
	[UPDATE_PHASE_FAILED] = "failed",
	[UPDATE_PHASE_DONE] = "done",
};

const char *update_phase_to_string(enum update_phase p)
{
	return (unsigned) p < ARRAY_SIZE(phase_names) ? phase_names[p] : NULL;
}

enum update_phase update_phase_from_string(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(phase_names); i++)
		if (strcmp(phase_names[i], s) == 0)
			return (enum update_phase) i;
	return (enum update_phase) - 1;
}

bool update_version_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= UPDATE_VERSION_MAX || s[0] < '0' || s[0] > '9')
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.+~:-") == n;
}

static bool phase_running(enum update_phase p)
{
	return p == UPDATE_PHASE_CHECKING || p == UPDATE_PHASE_DOWNLOADING || p == UPDATE_PHASE_INSTALLING;
}

/* The reason is shown to people: printable ASCII only, cut to fit. */
static void copy_reason(char *dst, const char *v, size_t len)
{
	size_t n = MIN(len, (size_t) UPDATE_REASON_MAX - 1);

	for (size_t i = 0; i < n; i++)
		dst[i] = v[i] >= 0x20 && v[i] < 0x7f ? v[i] : '?';
	dst[n] = '\0';
}

static int copy_version(char *dst, const char *v, size_t len)
{
	char buf[UPDATE_VERSION_MAX];

	if (len == 0) {
		dst[0] = '\0';
		return 0;
	}
	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, v, len);
	buf[len] = '\0';
	if (!update_version_valid(buf))
		return -EINVAL;
	memcpy(dst, buf, len + 1);
	return 0;
}

static int parse_time(const char *v, size_t len, uint64_t *ret)
{
	uint64_t t = 0;

	if (len == 0 || len > 19)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
		t = t * 10 + (uint64_t) (v[i] - '0');
	}
	*ret = t;
	return 0;
}

static int parse_phase(const char *v, size_t len, enum update_phase *ret)
{
	char buf[16];
	int p;

	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, v, len);
	buf[len] = '\0';
	p = (int) update_phase_from_string(buf);
	if (p < 0)
		return -EINVAL;
	*ret = (enum update_phase) p;
	return 0;
}

static int parse_line(const char *line, size_t len, struct update_state *st)
{
	const char *eq = memchr(line, '=', len);
	size_t klen, vlen;
	const char *v;

	if (len == 0)
		return 0;
	if (!eq)
		return -EINVAL;
	klen = (size_t) (eq - line);
	v = eq + 1;
	vlen = len - klen - 1;
#define KEY_IS(k) (klen == sizeof(k) - 1 && memcmp(line, k, klen) == 0)
	if (KEY_IS("state"))
		return parse_phase(v, vlen, &st->phase);
	if (KEY_IS("reason")) {
		copy_reason(st->reason, v, vlen);
		return 0;
	}
	if (KEY_IS("installed"))
		return copy_version(st->installed, v, vlen);
	if (KEY_IS("candidate"))
		return copy_version(st->candidate, v, vlen);
	if (KEY_IS("time"))
		return parse_time(v, vlen, &st->time);
#undef KEY_IS
	return 0;
}

int update_state_parse(const char *text, size_t len, struct update_state *ret)
{
	struct update_state st = { .phase = UPDATE_PHASE_IDLE };
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t) (nl - text) : len;
		int r = parse_line(text + pos, end - pos, &st);

		if (r < 0) {
			*ret = (struct update_state){ .phase = UPDATE_PHASE_IDLE };
			return r;
		}
		pos = end + 1;
	}
	*ret = st;
	return 0;
}

static bool unit_running(const struct update_unit_view *u)
{
	return u->known && u->active_state &&
	       (strcmp(u->active_state, "activating") == 0 || strcmp(u->active_state, "active") == 0 ||
		strcmp(u->active_state, "reloading") == 0 || strcmp(u->active_state, "deactivating") == 0);
}

void update_state_merge(struct update_state *st, const struct update_unit_view *units, size_t n_units)
{
	const struct update_unit_view *last = NULL;

	for (size_t i = 0; i < n_units; i++) {
		if (!units[i].known)
			return; /* not all known yet: the file is all there is */
		if (unit_running(&units[i])) {
			if (!phase_running(st->phase)) {
				st->phase = UPDATE_PHASE_CHECKING;
				st->reason[0] = '\0';
			}
			return;
		}
		if (units[i].result && strcmp(units[i].result, "success") != 0)
			last = &units[i];
	}
	if (!phase_running(st->phase))
		return;
	st->phase = UPDATE_PHASE_FAILED;
	if (last)
		(void) snprintf(st->reason, sizeof(st->reason), "interrupted: %s ended with result %s",
				last->name, last->result);
	else
		(void) snprintf(st->reason, sizeof(st->reason),
				"interrupted: the update helper stopped before it finished");
}

bool update_state_available(const struct update_state *st)
{
	return st->candidate[0] && strcmp(st->candidate, st->installed) != 0;
}
