/* SPDX-License-Identifier: MIT */
/*
 * The HTTP API's JSON responses: an answer that cannot be built (text that
 * is not UTF-8, which jansson refuses to encode, or no answer at all) becomes
 * a 500 with a JSON error, never an empty reply.
 */
#include <jansson.h>
#include <microhttpd.h>
#include <string.h>

#include "../../../src/outputs/httpd-internal.h"
#include "tap.h"

static bool is_json(struct MHD_Response *resp)
{
	const char *ct = resp ? MHD_get_response_header(resp, "Content-Type") : NULL;

	return ct && strcmp(ct, "application/json") == 0;
}

int main(void)
{
	struct MHD_Response *resp;
	unsigned status;

	status = MHD_HTTP_OK;
	resp = httpd_routes_json_or_500(json_pack("{s:i}", "a", 1), &status);
	tap_ok(resp && status == MHD_HTTP_OK && is_json(resp), "encodable JSON: the answer, status kept");
	if (resp)
		MHD_destroy_response(resp);

	status = MHD_HTTP_OK;
	resp =
	    httpd_routes_json_or_500(json_pack("{s:o}", "ssid", json_stringn_nocheck("Caf\xe9", 4)), &status);
	tap_ok(resp && status == MHD_HTTP_INTERNAL_SERVER_ERROR && is_json(resp),
	       "Latin-1 text jansson cannot encode: a JSON error with 500 (status %u)", status);
	if (resp)
		MHD_destroy_response(resp);

	status = MHD_HTTP_OK;
	resp = httpd_routes_json_or_500(NULL, &status);
	tap_ok(resp && status == MHD_HTTP_INTERNAL_SERVER_ERROR && is_json(resp),
	       "no answer at all: a JSON error with 500 (status %u)", status);
	if (resp)
		MHD_destroy_response(resp);
	return tap_done();
}
