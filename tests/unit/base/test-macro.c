/* SPDX-License-Identifier: MIT */
/*
 * DEFINE_STRING_TABLE of macro.h: both directions over a table with a NULL
 * gap, values out of range, unknown and NULL strings, and the two halves
 * defined on their own. Also the ownership helpers the modules lean on:
 * TAKE_PTR, TAKE_FD, DEFINE_FREEP and the cleanup attributes.
 */
#include <fcntl.h>
#include <unistd.h>

#include "smartconnectd/base/macro.h"
#include "tap.h"

enum colour {
	COLOUR_RED,
	COLOUR_GREEN,
	COLOUR_UNUSED, /* a gap: no name */
	COLOUR_BLUE,
	_COLOUR_MAX,
};

static const char *const colour_names[_COLOUR_MAX] = {
	[COLOUR_RED] = "red",
	[COLOUR_GREEN] = "green",
	[COLOUR_BLUE] = "blue",
};

const char *colour_to_string(enum colour v);
enum colour colour_from_string(const char *s);
DEFINE_STRING_TABLE(colour, enum colour, colour_names)

/* Each half alone, as a module that needs only one direction would use it. */
static const char *const size_names[] = { "small", "large" };
const char *size_to_string(int v);
int size_from_string(const char *s);
DEFINE_STRING_TABLE_TO(size, int, size_names)
DEFINE_STRING_TABLE_FROM(size, int, size_names)

static void test_to_string(void)
{
	TAP_EQ_STR(colour_to_string(COLOUR_RED), "red", "first entry");
	TAP_EQ_STR(colour_to_string(COLOUR_GREEN), "green", "second entry");
	TAP_EQ_STR(colour_to_string(COLOUR_BLUE), "blue", "entry after the gap");
	tap_ok(colour_to_string(COLOUR_UNUSED) == NULL, "a gap has no name");
	tap_ok(colour_to_string(_COLOUR_MAX) == NULL, "the count is out of range");
	tap_ok(colour_to_string((enum colour) 1000) == NULL, "far out of range");
	tap_ok(colour_to_string((enum colour) - 1) == NULL, "a negative value is out of range");
}

static void test_from_string(void)
{
	TAP_EQ_INT(colour_from_string("red"), COLOUR_RED, "red");
	TAP_EQ_INT(colour_from_string("green"), COLOUR_GREEN, "green");
	TAP_EQ_INT(colour_from_string("blue"), COLOUR_BLUE, "blue, past the gap");
	TAP_EQ_INT(colour_from_string("purple"), _COLOUR_MAX, "unknown: the count");
	TAP_EQ_INT(colour_from_string(""), _COLOUR_MAX, "empty: the count");
	TAP_EQ_INT(colour_from_string("Red"), _COLOUR_MAX, "case matters");
	TAP_EQ_INT(colour_from_string("red "), _COLOUR_MAX, "no trimming");
	TAP_EQ_INT(colour_from_string(NULL), _COLOUR_MAX, "NULL: the count, no crash");

	for (int i = 0; i < _COLOUR_MAX; i++) {
		const char *s = colour_to_string((enum colour) i);

		if (s)
			TAP_EQ_INT(colour_from_string(s), i, "round trip");
	}
}

static void test_halves(void)
{
	TAP_EQ_STR(size_to_string(1), "large", "to_string alone");
	tap_ok(size_to_string(2) == NULL, "out of range alone");
	TAP_EQ_INT(size_from_string("small"), 0, "from_string alone");
	TAP_EQ_INT(size_from_string("medium"), 2, "unknown alone: ARRAY_SIZE of the table");
}

struct thing {
	int *freed;
};

static struct thing *thing_free(struct thing *t)
{
	if (t) {
		(*t->freed)++;
		free(t);
	}
	return NULL;
}
DEFINE_FREEP(struct thing, thing_free)

static struct thing *thing_new(int *freed)
{
	struct thing *t = malloc(sizeof(*t));

	if (t)
		t->freed = freed;
	return t;
}

static void test_ownership(void)
{
	int freed = 0;
	struct thing *kept = NULL;

	{
		_cleanup_(thing_freep) struct thing *t = thing_new(&freed);
	}
	TAP_EQ_INT(freed, 1, "DEFINE_FREEP frees at the end of the scope");

	{
		_cleanup_(thing_freep) struct thing *t = thing_new(&freed);

		kept = TAKE_PTR(t);
		tap_ok(t == NULL, "TAKE_PTR leaves NULL behind");
	}
	TAP_EQ_INT(freed, 1, "a taken pointer is not freed by the old name");
	tap_ok(kept != NULL, "it belongs to the new owner");
	kept = thing_free(kept);
	TAP_EQ_INT(freed, 2, "which frees it");

	{
		_cleanup_(thing_freep) struct thing *t = NULL;
	}
	TAP_EQ_INT(freed, 2, "a NULL pointer is not passed to the destructor");

	int fd_kept = -EBADF, probe;
	{
		_cleanup_close_ int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

		probe = fd;
		fd_kept = TAKE_FD(fd);
		TAP_EQ_INT(fd, -EBADF, "TAKE_FD leaves -EBADF behind");
	}
	tap_ok(fcntl(fd_kept, F_GETFD) >= 0 && fd_kept == probe, "a taken fd stays open");
	close(fd_kept);

	{
		_cleanup_close_ int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

		probe = fd;
	}
	tap_ok(fcntl(probe, F_GETFD) < 0, "_cleanup_close_ closes at the end of the scope");

	TAP_EQ_INT(MIN(3, -2), -2, "MIN");
	TAP_EQ_INT(MAX(3, -2), 3, "MAX");
	TAP_EQ_INT(ARRAY_SIZE(colour_names), _COLOUR_MAX, "ARRAY_SIZE");
}

int main(void)
{
	test_to_string();
	test_from_string();
	test_halves();
	test_ownership();
	return tap_done();
}
