/* SPDX-License-Identifier: MIT */
/*
 * The factory reset's steps in the state directory, made safe against a
 * kill -9 at any moment by a marker file:
 *
 *   1. factory_reset_begin(): write "factory-reset" (through
 *      "factory-reset.tmp", fsync, rename, fsync of the directory). Before
 *      the rename nothing has changed.
 *   2. factory_reset_finish(): remove the files the reset removes
 *      (overrides.json and its left-over .tmp), fsync the directory, then
 *      remove the marker. Removing a file twice is harmless, so this step can
 *      be run again from the start.
 *
 * At start, factory_reset_recover() removes a left-over "factory-reset.tmp"
 * and, when the marker is there, finishes the interrupted reset. Seen from a
 * daemon that starts, the directory is therefore either before the reset or
 * after it, never half way. The configuration file and the device secrets
 * (http-password, the AP key) are never touched.
 *
 * Never logs; the daemon logs what the results say.
 */
#pragma once

#include <stdbool.h>

/* The files of the state directory a factory reset removes, NULL-terminated. */
extern const char *const factory_reset_files[];

/* Step 1. Returns 0 or a negative errno (nothing changed then). */
int factory_reset_begin(const char *state_dir);

/* Step 2. *ret_removed (may be NULL) counts the files that were there.
 * Returns 0 or a negative errno (the marker then stays: run it again). */
int factory_reset_finish(const char *state_dir, unsigned *ret_removed);

/* At start: 1 when an interrupted reset must be finished (the caller runs its
 * own steps, then factory_reset_finish()), 0 when none, or a negative errno.
 * *ret_tmp_removed tells whether a left-over temporary marker was removed. */
int factory_reset_recover(const char *state_dir, bool *ret_tmp_removed);
