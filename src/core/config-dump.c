/* SPDX-License-Identifier: MIT */
/*
 * The configuration written back as INI text (config_dump(), see config.h),
 * through the key table's public view: every key in table order, values
 * quoted where they would not read back as themselves. Pure but for the
 * FILE it writes to.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "smartconnectd/core/config.h"

#include "config-types.h"

/* Does the text need quotes to read back as itself? */
static bool needs_quotes(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return false;
	if (conf_is_blank(s[0]) || conf_is_blank(s[n - 1]) || s[0] == '"')
		return true;
	for (size_t i = 1; i < n; i++)
		if ((s[i] == ';' || s[i] == '#') && conf_is_blank(s[i - 1]))
			return true;
	return false;
}

static int dump_value(FILE *f, const char *s)
{
	if (!needs_quotes(s))
		return fputs(s, f) < 0 ? -EIO : 0;

	if (fputc('"', f) == EOF)
		return -EIO;
	for (; *s; s++) {
		if ((*s == '"' || *s == '\\') && fputc('\\', f) == EOF)
			return -EIO;
		if (fputc(*s, f) == EOF)
			return -EIO;
	}
	return fputc('"', f) == EOF ? -EIO : 0;
}

int config_dump(const struct config *c, FILE *f, bool show_secrets)
{
	const char *section = NULL;
	char value[CONFIG_URL_MAX + CONFIG_PATH_MAX];

	for (size_t i = 0; i < config_n_keys(); i++) {
		struct config_key_info k = config_key_at(i);

		if (!section || strcmp(section, k.section) != 0) {
			if (fprintf(f, "%s[%s]\n", section ? "\n" : "", k.section) < 0)
				return -EIO;
			section = k.section;
		}

		config_get(c, i, value, sizeof(value));
		if (fprintf(f, "%s=", k.key) < 0)
			return -EIO;
		if (k.secret && !show_secrets) {
			if (fputs(value[0] ? "<set>" : "", f) < 0)
				return -EIO;
		} else if (dump_value(f, value) < 0) {
			return -EIO;
		}
		if (fputc('\n', f) == EOF)
			return -EIO;
	}
	return fflush(f) == EOF ? -EIO : 0;
}
