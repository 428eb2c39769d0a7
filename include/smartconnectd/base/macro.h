/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by every module: cleanup attributes, ownership moves,
 * ARRAY_SIZE. Header only, no state.
 */
#pragma once

#include <errno.h>
#include <stdlib.h>
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
