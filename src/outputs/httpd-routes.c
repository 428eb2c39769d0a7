/* SPDX-License-Identifier: MIT */
/*
 * The HTTP API's routes (see httpd.h): the request callback (authentication
 * first, then the body, then the route), the endpoints and their responses.
 * What the answers contain comes from the daemon through struct httpd_ops.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smartconnectd/base/log.h"
#include "smartconnectd/outputs/metrics.h"

#include "httpd-internal.h"
#include "web-page.h"

/* Content security policy of the page: everything from here, inline script
 * and style allowed (the page is one self-contained file without any
 * user-supplied markup), no framing, no plugins, no foreign form targets. */
#define HTTPD_CSP                                                                                            \
	"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "          \
	"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " \
	"frame-ancestors 'none'"

/* ---- responses -------------------------------------------------------------------------------- */

void httpd_routes_headers(struct MHD_Response *resp)
{
	(void) MHD_add_response_header(resp, "Cache-Control", "no-store");
	(void) MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	(void) MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
}

enum MHD_Result httpd_routes_queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	httpd_routes_headers(resp);
	httpd_conn_answering(c);
	ret = MHD_queue_response(c, status, resp);
	if (ret == MHD_YES)
		httpd_conn_count(c, status);
	MHD_destroy_response(resp);
	return ret;
}

struct MHD_Response *httpd_routes_json(json_t *j)
{
	struct MHD_Response *resp;
	char *text;

	if (!j)
		return NULL;
	text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(j);
	if (!text)
		return NULL;
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return NULL;
	}
	(void) MHD_add_response_header(resp, "Content-Type", "application/json");
	return resp;
}

/* What a client gets when the answer it asked for cannot be built (e.g. text
 * that is not UTF-8, which jansson refuses to encode): an empty reply would
 * look like a crash, and a half-built one like data. */
static const char httpd_error_500[] = "{\"error\":\"the server cannot build this response\"}";

struct MHD_Response *httpd_routes_json_or_500(json_t *j, unsigned *status)
{
	struct MHD_Response *resp = httpd_routes_json(j);

	if (resp)
		return resp;
	*status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	resp = MHD_create_response_from_buffer(strlen(httpd_error_500), (void *) httpd_error_500,
					       MHD_RESPMEM_PERSISTENT);
	if (resp)
		(void) MHD_add_response_header(resp, "Content-Type", "application/json");
	return resp;
}

static enum MHD_Result respond_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
	struct MHD_Response *resp = httpd_routes_json_or_500(j, &status);

	return httpd_routes_queue(c, status, resp);
}

static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	return respond_json(c, status, json_pack("{s:s}", "error", msg));
}

static enum MHD_Result respond_405(struct MHD_Connection *c, const char *allow)
{
	struct MHD_Response *resp = httpd_routes_json(json_pack("{s:s}", "error", "method not allowed"));

	if (resp)
		(void) MHD_add_response_header(resp, "Allow", allow);
	return httpd_routes_queue(c, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
}

/* ---- endpoints -------------------------------------------------------------------------------- */

typedef enum MHD_Result (*httpd_handler_fn)(struct httpd *h, struct MHD_Connection *c,
					    struct httpd_request *rq);

static enum MHD_Result on_page(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	struct MHD_Response *resp;

	(void) h;
	(void) rq;
	resp = MHD_create_response_from_buffer(web_page_len, (void *) web_page, MHD_RESPMEM_PERSISTENT);
	if (resp) {
		(void) MHD_add_response_header(resp, "Content-Type", "text/html; charset=utf-8");
		(void) MHD_add_response_header(resp, "Content-Security-Policy", HTTPD_CSP);
		(void) MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	}
	return httpd_routes_queue(c, MHD_HTTP_OK, resp);
}

/* Written without a tree; room for the status of any configuration. */
#define HTTPD_STATUS_TEXT_MAX 16384

/* GET /i18n/<lang>.json: a table of the page's strings, English to the
 * language; no data in it, so no credentials (the sign-in form needs it). */
static enum MHD_Result respond_i18n(struct MHD_Connection *c, const unsigned char *text, size_t len)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, (void *) text, MHD_RESPMEM_PERSISTENT);

	if (resp)
		(void) MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
	return httpd_routes_queue(c, MHD_HTTP_OK, resp);
}

static enum MHD_Result on_i18n_fr(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	(void) h;
	(void) rq;
	return respond_i18n(c, web_i18n_fr, web_i18n_fr_len);
}

static enum MHD_Result on_i18n_nl(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	(void) h;
	(void) rq;
	return respond_i18n(c, web_i18n_nl, web_i18n_nl_len);
}

static enum MHD_Result on_status(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	/* Not on the stack: the status path runs deep (netinfo_read()), and a
	 * stack page once touched stays resident. The response takes it over,
	 * one allocation per request as the copy was. */
	char *text = h->ops->status_text ? malloc(HTTPD_STATUS_TEXT_MAX) : NULL;
	struct MHD_Response *resp;
	int n;

	(void) rq;
	n = text ? h->ops->status_text(h->userdata, text, HTTPD_STATUS_TEXT_MAX) : -ENOTSUP;
	if (n < 0) {
		free(text);
		return respond_json(c, MHD_HTTP_OK, h->ops->status(h->userdata));
	}
	resp = MHD_create_response_from_buffer((size_t) n, text, MHD_RESPMEM_MUST_FREE);
	if (resp)
		(void) MHD_add_response_header(resp, "Content-Type", "application/json");
	else
		free(text);
	return httpd_routes_queue(c, MHD_HTTP_OK, resp);
}

static enum MHD_Result on_config_get(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	(void) rq;
	return respond_json(c, MHD_HTTP_OK, h->ops->config(h->userdata));
}

static enum MHD_Result on_config_patch(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	json_t *err = NULL;
	int r;

	r = h->ops->patch_config(h->userdata, rq->body ?: "", rq->len, &err);
	if (r == -EINVAL)
		return respond_json(c, MHD_HTTP_BAD_REQUEST, err ?: json_pack("{s:s}", "error", "invalid"));
	if (r == -EPERM || r == -EBUSY)
		return respond_json(c, MHD_HTTP_CONFLICT, err ?: json_pack("{s:s}", "error", "conflict"));
	if (r < 0)
		return respond_json(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				    err ?: json_pack("{s:s}", "error", "cannot save the configuration"));
	json_decref(err);
	return respond_json(c, MHD_HTTP_OK, h->ops->config(h->userdata));
}

static enum MHD_Result on_telegram(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	struct MHD_Response *resp;
	const char *text;
	size_t len;

	(void) rq;
	if (h->ops->telegram(h->userdata, &text, &len) < 0)
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no telegram received yet");
	resp = MHD_create_response_from_buffer(len, (void *) text, MHD_RESPMEM_MUST_COPY);
	if (resp)
		(void) MHD_add_response_header(resp, "Content-Type", "text/plain; charset=us-ascii");
	return httpd_routes_queue(c, MHD_HTTP_OK, resp);
}

static enum MHD_Result on_metrics(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	struct MHD_Response *resp;
	char *text;

	(void) rq;
	text = h->ops->metrics(h->userdata);
	if (!text)
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				     "the server cannot build this response");
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	(void) MHD_add_response_header(resp, "Content-Type", METRICS_CONTENT_TYPE);
	return httpd_routes_queue(c, MHD_HTTP_OK, resp);
}

static enum MHD_Result on_live(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	struct MHD_Response *resp = NULL;

	if (h->n_live >= h->max_live)
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				     "too many live clients, try again later");
	if (httpd_live_start(rq->srv, c, rq->by_session, &resp) != MHD_YES)
		return MHD_NO;
	return httpd_routes_queue(c, MHD_HTTP_OK, resp);
}

static enum MHD_Result on_reset(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	(void) rq;
	if (h->ops->reset(h->userdata) < 0)
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "soft reset failed");
	return respond_json(
	    c, MHD_HTTP_ACCEPTED,
	    json_pack("{s:s,s:s}", "status", "resetting", "message",
		      "reopening the meter device and reconnecting MQTT; the API keeps serving"));
}

static enum MHD_Result on_identify(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	(void) rq;
	if (h->ops->identify(h->userdata) < 0)
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "identify failed");
	return respond_json(c, MHD_HTTP_ACCEPTED,
			    json_pack("{s:s,s:s}", "status", "identifying", "message",
				      "the LED blinks every colour fast for 10 s"));
}

static enum MHD_Result on_factory_reset(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	(void) rq;
	if (h->ops->factory_reset(h->userdata) < 0)
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "factory reset failed");
	return respond_json(c, MHD_HTTP_OK,
			    json_pack("{s:s,s:s}", "status", "factory-reset", "message",
				      "the settings made through the API are removed; the configuration "
				      "file and the device secrets are kept"));
}

static enum MHD_Result on_firmware_get(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	(void) rq;
	return respond_json(c, MHD_HTTP_OK, h->ops->firmware(h->userdata));
}

static enum MHD_Result on_firmware_post(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	json_t *answer = NULL;
	int r;

	r = h->ops->firmware_update(h->userdata, rq->body ?: "", rq->len, &answer);
	if (r == -EINVAL)
		return respond_json(c, MHD_HTTP_BAD_REQUEST, answer);
	if (r == -EPERM || r == -EBUSY)
		return respond_json(c, MHD_HTTP_CONFLICT, answer);
	if (r < 0)
		return respond_json(c, MHD_HTTP_SERVICE_UNAVAILABLE, answer);
	return respond_json(c, MHD_HTTP_ACCEPTED, answer);
}

static enum MHD_Result network_action(struct httpd *h, struct MHD_Connection *c, const char *action)
{
	json_t *answer = NULL;
	int r;

	r = h->ops->network(h->userdata, action, &answer);
	if (r == -EPERM || r == -EBUSY)
		return respond_json(c, MHD_HTTP_CONFLICT, answer ?: json_pack("{s:s}", "error", "conflict"));
	if (r < 0) {
		json_decref(answer);
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "network request failed");
	}
	return respond_json(c, MHD_HTTP_OK, answer);
}

static enum MHD_Result on_network_confirm(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	(void) rq;
	return network_action(h, c, "confirm");
}

static enum MHD_Result on_network_ap(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	(void) rq;
	return network_action(h, c, "ap");
}

static enum MHD_Result count_argument(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void) kind;
	(void) key;
	(void) value;
	++*(unsigned *) cls;
	return MHD_YES;
}

static enum MHD_Result on_modbus(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	json_t *j = NULL;
	unsigned n_args = 0;
	int r;

	(void) rq;
	/* Nothing to choose: a parameter is a mistake better told than ignored. */
	(void) MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, count_argument, &n_args);
	if (n_args > 0)
		return respond_error(c, MHD_HTTP_BAD_REQUEST, "GET /api/v1/modbus takes no query parameters");
	r = h->ops->modbus ? h->ops->modbus(h->userdata, &j) : -ENODEV;
	if (r == -ENODEV)
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no Modbus TCP server runs");
	if (r < 0)
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				     "the server cannot build this response");
	return respond_json(c, MHD_HTTP_OK, j);
}

struct httpd_route {
	const char *path;
	const char *allow;
	httpd_handler_fn get, patch, post, del;
};

static const struct httpd_route routes[] = {
	{ "/", "GET, HEAD", .get = on_page },
	{ "/i18n/fr.json", "GET, HEAD", .get = on_i18n_fr },
	{ "/i18n/nl.json", "GET, HEAD", .get = on_i18n_nl },
	{ "/api/v1/session", "GET, HEAD, POST, DELETE", .get = httpd_session_on_get,
	  .post = httpd_session_on_post, .del = httpd_session_on_delete },
	{ "/api/v1/status", "GET, HEAD", .get = on_status },
	{ "/api/v1/config", "GET, HEAD, PATCH", .get = on_config_get, .patch = on_config_patch },
	{ "/api/v1/telegram", "GET, HEAD", .get = on_telegram },
	{ "/api/v1/live", "GET", .get = on_live },
	{ "/api/v1/history", "GET, HEAD", .get = httpd_history_on_get },
	{ "/api/v1/modbus", "GET, HEAD", .get = on_modbus },
	{ "/api/v1/reset", "POST", .post = on_reset },
	{ "/api/v1/identify", "POST", .post = on_identify },
	{ "/api/v1/factory-reset", "POST", .post = on_factory_reset },
	{ "/api/v1/firmware", "GET, HEAD, POST", .get = on_firmware_get, .post = on_firmware_post },
	{ "/api/v1/network/confirm", "POST", .post = on_network_confirm },
	{ "/api/v1/network/ap", "POST", .post = on_network_ap },
	{ "/metrics", "GET, HEAD", .get = on_metrics },
};

static const struct httpd_route *find_route(const char *url)
{
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++)
		if (strcmp(routes[i].path, url) == 0)
			return &routes[i];
	return NULL;
}

static bool method_is_safe(const char *method)
{
	return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

static httpd_handler_fn route_handler(const struct httpd_route *rt, const char *method)
{
	if (method_is_safe(method))
		return rt->get;
	if (strcmp(method, "PATCH") == 0)
		return rt->patch;
	if (strcmp(method, "POST") == 0)
		return rt->post;
	if (strcmp(method, "DELETE") == 0)
		return rt->del;
	return NULL;
}

/* Everything but the page and its translations (its sign-in form; they hold no data), the session
 * (its handlers check themselves) and a scrape of /metrics with [HTTP]
 * MetricsAuth=no. */
static bool needs_auth(const struct httpd *h, const char *url, const char *method)
{
	if (strcmp(url, "/api/v1/session") == 0)
		return false;
	if (!method_is_safe(method))
		return true;
	if (strcmp(url, "/") == 0 || strncmp(url, "/i18n/", 6) == 0)
		return false;
	return h->metrics_auth || strcmp(url, "/metrics") != 0;
}

/* A request's first call, before any body: the checks in their order. */
static enum MHD_Result request_begin(struct httpd_srv *srv, struct MHD_Connection *c, const char *url,
				     const char *method, void **req_cls)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
	struct httpd *h = srv->h;
	struct httpd_request *rq;
	enum MHD_Result ret;

	rq = calloc(1, sizeof(*rq));
	if (!rq)
		return MHD_NO;
	rq->srv = srv;
	*req_cls = rq;
	/* The host first: a foreign name gets nothing, not even a login prompt. */
	if (httpd_host_check(h, c, !method_is_safe(method), &ret) < 0)
		return ret;
	/* Then HTTPS: a browser gets there before it sends the password. */
	if (httpd_tls_check(srv, c, url, method, &ret) < 0)
		return ret;
	if (needs_auth(h, url, method)) {
		int r = httpd_auth_check(h, c, &ret);

		if (r < 0)
			return ret;
		rq->by_session = r > 0;
	}
	if (cl && strtoull(cl, NULL, 10) > HTTPD_BODY_MAX)
		return respond_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
	return MHD_YES;
}

enum MHD_Result httpd_routes_on_request(void *cls, struct MHD_Connection *c, const char *url,
					const char *method, const char *version, const char *upload_data,
					size_t *upload_data_size, void **req_cls)
{
	struct httpd_srv *srv = cls;
	struct httpd *h = srv->h;
	struct httpd_request *rq = *req_cls;
	const struct httpd_route *rt;
	httpd_handler_fn fn;

	(void) version;
	if (!rq)
		return request_begin(srv, c, url, method, req_cls);

	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (rq->too_large || rq->len + n > HTTPD_BODY_MAX) {
			rq->too_large = true;
			return MHD_YES;
		}
		char *b = realloc(rq->body, rq->len + n + 1);
		if (!b)
			return MHD_NO;
		memcpy(b + rq->len, upload_data, n);
		rq->body = b;
		rq->len += n;
		rq->body[rq->len] = '\0';
		return MHD_YES;
	}
	if (rq->too_large)
		return respond_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");

	rt = find_route(url);
	if (!rt)
		return respond_error(c, MHD_HTTP_NOT_FOUND, "no such resource");
	fn = route_handler(rt, method);
	if (!fn)
		return respond_405(c, rt->allow);
	return fn(h, c, rq);
}

void httpd_routes_on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			       enum MHD_RequestTerminationCode toe)
{
	struct httpd_request *rq = *req_cls;

	(void) cls;
	(void) toe;
	httpd_conn_request_done(c);
	if (!rq)
		return;
	free(rq->body);
	free(rq);
	*req_cls = NULL;
}
