/* SPDX-License-Identifier: MIT */
/*
 * GET /api/v1/history: the query's arguments, then the rings the daemon
 * lends as JSON, or CSV when the client accepts text/csv (history-json.h).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smartconnectd/outputs/history-json.h"

#include "httpd-internal.h"

static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	return httpd_routes_queue(c, status,
				  httpd_routes_json_or_500(json_pack("{s:s}", "error", msg), &status));
}

static bool wants_csv(struct MHD_Connection *c)
{
	const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);

	return accept && strstr(accept, "text/csv") && !strstr(accept, "application/json");
}

static const char *arg(struct MHD_Connection *c, const char *key)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

enum MHD_Result httpd_history_on_get(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	struct capacity_view cap;
	struct history_query q;
	const struct history *hist;
	struct MHD_Response *resp;
	const char *error = NULL;
	bool csv = wants_csv(c);
	size_t len = 0;
	char *text;
	int64_t now = (int64_t) time(NULL);

	(void) rq;
	if (history_query_parse(arg(c, "from"), arg(c, "to"), arg(c, "step"), now, &q, &error) < 0)
		return respond_error(c, MHD_HTTP_BAD_REQUEST, error);
	hist = h->ops->history ? h->ops->history(h->userdata, &cap) : NULL;
	if (!hist)
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no history is kept");
	text = csv ? history_csv_text(hist, &q, now, &len) : history_json_text(hist, &q, now, &cap, &len);
	if (!text)
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				     "the server cannot build this response");
	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	(void) MHD_add_response_header(resp, "Content-Type",
				       csv ? "text/csv; charset=us-ascii" : "application/json");
	return httpd_routes_queue(c, MHD_HTTP_OK, resp);
}
