/* SPDX-License-Identifier: MIT */
/*
 * Logging for the daemon: one line per message on stderr. Under systemd
 * (JOURNAL_STREAM names our stderr) each line carries a "<N>" syslog priority
 * prefix that journald parses; elsewhere it reads "level: message", which keeps
 * terminals and tests readable.
 *
 * The _errno variants set errno from their argument first, so "%m" prints the
 * error, and they return it as a negative errno: `return log_error_errno(r, ...)`.
 * A message above the current level is not formatted at all.
 *
 * Also here: a small rate limiter for noisy events (count them, tell the admin
 * about the first one at once, summarise the rest at most once per interval).
 *
 * Not thread safe; the daemon has one thread. The log level is the one piece of
 * global state besides the command line.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <syslog.h>

#include "smartconnectd/base/macro.h"

/* Messages with a priority numerically above this are dropped. Default LOG_INFO. */
void log_set_max_level(int level);
int log_get_max_level(void);

/* "debug", "info", "notice", "warning", "error" <-> LOG_DEBUG ... LOG_ERR.
 * from_string returns -EINVAL for anything else; to_string NULL. */
int log_level_from_string(const char *s);
const char *log_level_to_string(int level);

/* Decide between journal and plain output (looks at JOURNAL_STREAM and stderr).
 * Safe to call again; without a call the output is plain. */
void log_open(void);

/* Write one message. error may be 0, a positive or a negative errno; returns
 * -abs(error). Use the macros below instead. */
int log_internal(int level, int error, const char *fmt, ...) _printf_(3, 4);

/* Copy in (at most n bytes, up to a NUL) to out as one printable line: a
 * newline becomes a space, every other control character \xNN. Returns the
 * length written; out is always NUL-terminated (when size > 0). Every logged
 * message goes through it. */
size_t log_escape(const char *in, size_t n, char *out, size_t size);

#define log_full_errno(level, error, ...)                                                        \
	({                                                                                       \
		int _level_ = (level), _e_ = (error);                                            \
		_e_ = _e_ < 0 ? -_e_ : _e_;                                                      \
		log_get_max_level() >= _level_ ? log_internal(_level_, _e_, __VA_ARGS__) : -_e_; \
	})
#define log_full(level, ...) ((void) log_full_errno(level, 0, __VA_ARGS__))

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(error, ...) log_full_errno(LOG_DEBUG, error, __VA_ARGS__)
#define log_info_errno(error, ...) log_full_errno(LOG_INFO, error, __VA_ARGS__)
#define log_notice_errno(error, ...) log_full_errno(LOG_NOTICE, error, __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, error, __VA_ARGS__)
#define log_error_errno(error, ...) log_full_errno(LOG_ERR, error, __VA_ARGS__)

/* Logs "Out of memory." and returns -ENOMEM; counted for log_oom_count(). */
#define log_oom() (log_oom_note(), log_error_errno(ENOMEM, "Out of memory."))
void log_oom_note(void);
/* Allocation failures reported with log_oom() since the start. */
uint64_t log_oom_count(void);

static inline bool log_would_log(int level)
{
	return log_get_max_level() >= level;
}

/*
 * Rate limiter for one kind of event. The first event after a quiet period
 * opens a window and should be logged in full; later events in the window are
 * only counted. When the window ends, the caller logs one summary of what was
 * counted (if anything) and, if there was something, a new window starts at
 * once, so a steady stream of events gives one summary per interval.
 *
 * Pure: time is passed in (CLOCK_MONOTONIC, µs). Initialise with
 * LOG_RATELIMIT_INIT(interval).
 */
struct log_ratelimit {
	uint64_t interval_usec;
	uint64_t begin_usec; /* start of the open window */
	bool open;           /* a window is open */
	unsigned counted;    /* events counted (not logged) in the open window */
};

#define LOG_RATELIMIT_INIT(usec) ((struct log_ratelimit){ .interval_usec = (usec) })

/* Record one event. True: log this one in full (it opened a window). False: it
 * was counted for the summary. */
bool log_ratelimit_event(struct log_ratelimit *rl, uint64_t now_usec);

/* When the open window ends: the time it ends, else UINT64_MAX. Arm a timer for it. */
uint64_t log_ratelimit_deadline(const struct log_ratelimit *rl);

/* Close the window if it has ended by now_usec. Returns the number of events
 * counted in it (log a summary when > 0) and reopens a window at now_usec when
 * that number is > 0. Returns 0 and changes nothing while the window runs. */
unsigned log_ratelimit_flush(struct log_ratelimit *rl, uint64_t now_usec);
