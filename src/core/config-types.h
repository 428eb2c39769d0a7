/* SPDX-License-Identifier: MIT */
/*
 * Private to config.c and config-types.c: the row of the key table and the
 * value types (one parser and one formatter each). A row describes where its
 * value lives in struct config and how it is spelled in the file.
 *
 * Pure. No I/O. Never logs.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "smartconnectd/core/config.h"

struct conf_key;

/* Parse value into field. On error write a message (without file, line or key)
 * into err and return -EINVAL or -ERANGE. */
typedef int (*conf_parse_fn)(const struct conf_key *k, const char *value, void *field, char *err,
			     size_t errsz);
/* Write the field as it would appear after "Key=" (unquoted; the caller quotes). */
typedef void (*conf_format_fn)(const struct conf_key *k, const void *field, char *buf, size_t size);

struct conf_type {
	conf_parse_fn parse;
	conf_format_fn format;
	enum config_value_kind kind; /* how the HTTP API's JSON spells a value */
};

/* Row flags besides the CONFIG_APPLY_* bits. */
enum {
	CONF_SECRET = 1u << 0,    /* never echoed in messages, hidden in dumps */
	CONF_EMPTY_OK = 1u << 1,  /* an empty value is valid */
	CONF_NO_COLON = 1u << 2,  /* HTTP basic auth user names cannot contain ':' */
	CONF_READ_FILE = 1u << 3, /* names a file the daemon reads: regular files only */
};

struct conf_key {
	const char *section;
	const char *key;
	const struct conf_type *type;
	const char *def; /* default, in the same syntax as the file */
	size_t offset, size;
	unsigned apply;           /* CONFIG_APPLY_* */
	unsigned flags;           /* CONF_* */
	long long min, max;       /* numeric types */
	const char *const *names; /* enum types: names[value], NULL = no such value */
	/* Enum types whose names another module owns, instead of names. */
	const char *(*name_of)(size_t value);
	size_t n_names;
};

static inline bool conf_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

extern const struct conf_type conf_enum, conf_bool, conf_uint, conf_seconds, conf_utc_offset, conf_string,
    conf_token, conf_dns_label, conf_path, conf_meter_device, conf_listen, conf_broker, conf_ipv4,
    conf_netmask, conf_file, conf_host, conf_hosts, conf_allow, conf_led_name, conf_key_code;

/* The key table (config-keys.c), in the order of the file's documentation. */
#define CONF_KEYS_MAX 256
extern const struct conf_key conf_keys[];
extern const size_t conf_n_keys;
