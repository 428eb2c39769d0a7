/* SPDX-License-Identifier: MIT */
/*
 * Logging (see log.h): formats one line and writes it to stderr in a single
 * write, with a syslog "<N>" prefix for journald or a level word otherwise.
 * Not a syslog client and no structured journal fields: journald's stream
 * protocol is all the daemon needs. Also the rate limiter, which is pure.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smartconnectd/base/log.h"

/* Longest line written; longer messages are cut (a telegram's JSON fits). */
#define LOG_LINE_MAX 8192

static int log_max_level = LOG_INFO;
static bool log_to_journal;
static uint64_t log_oom_events;

static const char *const level_names[] = {
	[LOG_EMERG] = "emergency", [LOG_ALERT] = "alert",   [LOG_CRIT] = "critical", [LOG_ERR] = "error",
	[LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info",     [LOG_DEBUG] = "debug",
};

void log_set_max_level(int level)
{
	log_max_level = level;
}

int log_get_max_level(void)
{
	return log_max_level;
}

int log_level_from_string(const char *s)
{
	/* Only the levels an admin would pick; the rest are never used for filtering. */
	for (int l = LOG_ERR; l <= LOG_DEBUG; l++)
		if (strcasecmp(s, level_names[l]) == 0)
			return l;
	return -EINVAL;
}

const char *log_level_to_string(int level)
{
	if (level < 0 || (size_t) level >= ARRAY_SIZE(level_names))
		return NULL;
	return level_names[level];
}

/* JOURNAL_STREAM is "dev:ino" of the journal socket that systemd connected to
 * our stderr. It is inherited by children, so compare it with what fd 2 really is. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_open(void)
{
	log_to_journal = stderr_is_journal();
}

/* log_escape() of the k bytes at p, in place within size bytes: the escaped
 * length counted first, then written from the end (never over a byte not yet
 * read, the escaped form being no shorter). */
static size_t escape_in_place(char *p, size_t k, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, n = 0;

	for (i = 0; i < k; i++) {
		unsigned char c = (unsigned char) p[i];
		/* CR, ESC and the rest could rewrite or fake lines on a terminal or in
		 * a viewer: written as \xNN. A newline only splits the message: a
		 * space keeps it one readable line. */
		size_t w = c == '\n' || (c >= 0x20 && c != 0x7f) ? 1 : 4;

		if (n + w >= size)
			break;
		n += w;
	}
	p[n] = '\0';
	for (size_t o = n; i-- > 0;) {
		unsigned char c = (unsigned char) p[i];

		if (c == '\n' || (c >= 0x20 && c != 0x7f)) {
			p[--o] = c == '\n' ? ' ' : (char) c;
			continue;
		}
		o -= 4;
		p[o] = '\\';
		p[o + 1] = 'x';
		p[o + 2] = hex[c >> 4];
		p[o + 3] = hex[c & 15];
	}
	return n;
}

size_t log_escape(const char *in, size_t n, char *out, size_t size)
{
	size_t k = strnlen(in, n);

	if (size == 0)
		return 0;
	/* A byte past size - 1 never fits, escaped or not. */
	k = k < size - 1 ? k : size - 1;
	memmove(out, in, k);
	return escape_in_place(out, k, size);
}

int log_internal(int level, int error, const char *fmt, ...)
{
	/* One buffer, the message escaped in place: log calls come from deep in
	 * the loop, and a stack page once touched stays resident. */
	char line[LOG_LINE_MAX];
	int saved = errno;
	va_list ap;
	int n;

	if (error < 0)
		error = -error;

	if (log_to_journal)
		n = snprintf(line, sizeof(line), "<%d>", level);
	else
		n = snprintf(line, sizeof(line), "%s: ", log_level_to_string(level) ?: "log");

	/* %m prints strerror(errno): make it the error we were given. */
	errno = error;
	va_start(ap, fmt);
	if (vsnprintf(line + n, sizeof(line) - (size_t) n - 1, fmt, ap) < 0)
		line[n] = '\0';
	va_end(ap);

	/* Text from outside (user names, paths, topics, meter text) is in the
	 * message: one message is one line, with no control character in it. */
	n += (int) escape_in_place(line + n, strlen(line + n), sizeof(line) - (size_t) n - 1);
	line[n++] = '\n';

	/* A failing stderr has nowhere to report to. */
	(void) !write(STDERR_FILENO, line, (size_t) n);

	errno = saved;
	return -error;
}

bool log_ratelimit_event(struct log_ratelimit *rl, uint64_t now_usec)
{
	/* A window past its end that still holds counted events is awaiting its
	 * flush (the caller's timer may run later in this loop iteration): keep
	 * counting into it rather than losing those events. */
	if (rl->open && (now_usec < rl->begin_usec + rl->interval_usec || rl->counted > 0)) {
		rl->counted++;
		return false;
	}

	*rl = (struct log_ratelimit){
		.interval_usec = rl->interval_usec,
		.begin_usec = now_usec,
		.open = true,
	};
	return true;
}

uint64_t log_ratelimit_deadline(const struct log_ratelimit *rl)
{
	return rl->open ? rl->begin_usec + rl->interval_usec : UINT64_MAX;
}

unsigned log_ratelimit_flush(struct log_ratelimit *rl, uint64_t now_usec)
{
	unsigned n;

	if (!rl->open || now_usec < rl->begin_usec + rl->interval_usec)
		return 0;

	n = rl->counted;
	*rl = (struct log_ratelimit){
		.interval_usec = rl->interval_usec,
		.begin_usec = now_usec,
		.open = n > 0,
	};
	return n;
}

void log_oom_note(void)
{
	log_oom_events++;
}

uint64_t log_oom_count(void)
{
	return log_oom_events;
}
