/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by every module: cleanup attributes, ownership moves,
 * ARRAY_SIZE, enum <-> string tables. Header only, no state.
 */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _pure_ __attribute__((pure))

static inline void freep(void *p)
{
	free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		(void) close(*fd);
		errno = saved;
	}
}
#define _cleanup_close_ _cleanup_(closep)

/* Take the value out of a variable and leave a "nothing" value behind, so the
 * cleanup attribute on the old name does not free what now belongs elsewhere. */
#define TAKE_PTR(p)                         \
	({                                  \
		__typeof__(p) _took_ = (p); \
		(p) = NULL;                 \
		_took_;                     \
	})
#define TAKE_FD(fd)                   \
	({                            \
		int _took_fd_ = (fd); \
		(fd) = -EBADF;        \
		_took_fd_;            \
	})

#define DEFINE_FREEP(type, func)             \
	static inline void func##p(type **p) \
	{                                    \
		if (*p)                      \
			*p = func(*p);       \
	}

#undef MIN
#undef MAX
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define USEC_PER_SEC 1000000ULL
#define USEC_PER_MSEC 1000ULL

/*
 * The two directions of an enum <-> string table, from one array of names
 * indexed by the enum (gaps are NULL). DEFINE_STRING_TABLE(foo, enum foo, names)
 * defines foo_to_string(), NULL when out of range, and foo_from_string(), which
 * returns the enum's count (ARRAY_SIZE(names)) for an unknown string.
 */
#define DEFINE_STRING_TABLE_TO(name, type, table)                        \
	const char *name##_to_string(type v)                             \
	{                                                                \
		return (size_t) v < ARRAY_SIZE(table) ? table[v] : NULL; \
	}
#define DEFINE_STRING_TABLE_FROM(name, type, table)                 \
	type name##_from_string(const char *s)                      \
	{                                                           \
		for (size_t i = 0; s && i < ARRAY_SIZE(table); i++) \
			if (table[i] && strcmp(s, table[i]) == 0)   \
				return (type) i;                    \
		return (type) ARRAY_SIZE(table);                    \
	}
#define DEFINE_STRING_TABLE(name, type, table)    \
	DEFINE_STRING_TABLE_TO(name, type, table) \
	DEFINE_STRING_TABLE_FROM(name, type, table)
