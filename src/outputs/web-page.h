/* SPDX-License-Identifier: MIT */
/*
 * The web page (src/outputs/web/index.html), compiled in by embed-gen at build time.
 * Private to httpd.c.
 */
#pragma once

#include <stddef.h>

extern const unsigned char web_page[];
extern const size_t web_page_len;

/* Its translations (src/outputs/web/i18n/<lang>.json): English is the page itself. */
extern const unsigned char web_i18n_fr[];
extern const size_t web_i18n_fr_len;
extern const unsigned char web_i18n_nl[];
extern const size_t web_i18n_nl_len;
