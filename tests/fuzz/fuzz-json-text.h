/* SPDX-License-Identifier: MIT */
/*
 * For the decoder harnesses: every frame they decode is also written as JSON
 * text (reading-json-text.h) and held to the jansson tree of the same frame
 * (reading-json.h): the text must parse and print exactly as the tree does,
 * power_instant and the whole smartconnect-decode line alike. A frame too
 * large for the buffer is allowed (the callers fall back to the tree then).
 */
#pragma once

#include <jansson.h>

#include "smartconnectd/outputs/reading-json-text.h"
#include "smartconnectd/outputs/reading-json.h"

static char fuzz_json_line[READING_JSON_TEXT_TELEGRAM_MAX];

static void fuzz_json_same(json_t *tree, int n)
{
	json_t *parsed;
	char *a, *b;

	if (n == -ENOBUFS || !tree) {
		json_decref(tree);
		return;
	}
	fuzz_assert(n >= 0);
	parsed = json_loads(fuzz_json_line, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	fuzz_assert(parsed != NULL);
	a = json_dumps(tree, READING_JSON_DUMP_FLAGS);
	b = json_dumps(parsed, READING_JSON_DUMP_FLAGS);
	fuzz_assert(a && b && strcmp(a, b) == 0);
	free(a);
	free(b);
	json_decref(tree);
	json_decref(parsed);
}

__attribute__((unused)) static void fuzz_json_text(const struct reading *v, const struct decode_opts *o)
{
	fuzz_json_same(reading_json_power_instant(v),
		       reading_json_text_power_instant(v, fuzz_json_line, sizeof(fuzz_json_line)));
	fuzz_json_same(reading_json_telegram(v, o),
		       reading_json_text_telegram(v, o, fuzz_json_line, sizeof(fuzz_json_line)));
}
