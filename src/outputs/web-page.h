/* SPDX-License-Identifier: MIT */
/*
 * The web page (src/outputs/web/index.html), compiled in by embed-gen at build time.
 * Private to httpd.c.
 */
#pragma once

#include <stddef.h>

extern const unsigned char web_page[];
extern const size_t web_page_len;
