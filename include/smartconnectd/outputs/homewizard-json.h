/* SPDX-License-Identifier: MIT */
/*
 * The JSON of the HomeWizard-compatible local API (v1): the public v1 field
 * names and types of the HomeWizard P1 meter, so that clients written for it
 * read this gateway too. A compatibility mode, not the product itself.
 *
 *   GET /api          {"product_type":"HWE-P1","product_name","serial",
 *                      "firmware_version","api_version":"v1"}
 *   GET /api/v1/data  the fields the frame fills; the others are left out,
 *                     as the original leaves out what its meter lacks
 *
 * Tariff 1 is 1-0:1.8.1 / 2.8.1 and tariff 2 is 1-0:1.8.2 / 2.8.2, as in the
 * original; unique ids are the equipment identifier as hex text; time stamps
 * are the meter's YYMMDDhhmmss as a number. TIC frames fill the fields that
 * have a meaning there (totals, power, voltage and current per phase).
 *
 * Pure. No I/O. Never logs. Returned objects are new references, NULL on OOM.
 */
#pragma once

#include <jansson.h>

#include "smartconnectd/meter/reading.h"

#define HOMEWIZARD_PRODUCT_TYPE "HWE-P1"
#define HOMEWIZARD_PRODUCT_NAME "P1 meter"

json_t *homewizard_json_basic(const char *serial, const char *firmware_version);
json_t *homewizard_json_data(const struct reading *v);
