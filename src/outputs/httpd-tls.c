/* SPDX-License-Identifier: MIT */
/*
 * The plain listener while a second one serves HTTPS (see httpd.h): a
 * browser that opens http://smart-connect.local is sent to the same page over
 * HTTPS before it is asked for the password, so the password never crosses
 * the network in clear; scripts keep the JSON API on plain HTTP unless
 * [HTTP] RequireTLS=yes.
 *
 * No Strict-Transport-Security: with a self-signed certificate it would turn
 * the browser's warning, which the installer can accept after comparing the
 * fingerprint, into an error nobody can get past.
 */
#include <stdio.h>
#include <string.h>

#include "httpd-internal.h"

#define HTTPD_URL_MAX 2048
#define HTTPD_HOST_PART_MAX 300

/* A browser's request for the page: not the API, not the metrics, and it
 * says it takes HTML (curl and scripts send Accept: * / * or JSON). */
static bool is_page_request(struct MHD_Connection *c, const char *url, const char *method)
{
	const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return false;
	if (strncmp(url, "/api/", 5) == 0 || strcmp(url, "/api") == 0 || strcmp(url, "/metrics") == 0)
		return false;
	return accept && strstr(accept, "text/html");
}

/* The Host header without its port, as it may stand in a URL; false when
 * it holds anything else (the Host check has let it through already). */
static bool host_part(struct MHD_Connection *c, char *buf, size_t size)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	size_t len;

	if (!v || !*v)
		return false;
	len = v[0] == '[' ? strcspn(v, "]") + 1 : strcspn(v, ":");
	if (len >= size || (v[0] == '[' && v[len - 1] != ']'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-[]:", v[i]))
			return false;
	memcpy(buf, v, len);
	buf[len] = '\0';
	return true;
}

/* https://host[:port]path, the path percent-encoded again where needed. */
static bool https_url(struct MHD_Connection *c, uint16_t port, const char *path, char *buf, size_t size)
{
	static const char safe[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/!$&'()*+,;=:@";
	char host[HTTPD_HOST_PART_MAX];
	size_t n;

	if (!host_part(c, host, sizeof(host)))
		return false;
	n = port == 443 ? (size_t) snprintf(buf, size, "https://%s", host)
			: (size_t) snprintf(buf, size, "https://%s:%u", host, port);
	for (const unsigned char *p = (const unsigned char *) path; *p && n + 4 < size; p++)
		n += (size_t) snprintf(buf + n, size - n, strchr(safe, *p) ? "%c" : "%%%02X", *p);
	return n + 4 < size;
}

static enum MHD_Result redirect(struct MHD_Connection *c, const char *location)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);

	if (!resp || MHD_add_response_header(resp, "Location", location) != MHD_YES) {
		if (resp)
			MHD_destroy_response(resp);
		return MHD_NO;
	}
	return httpd_routes_queue(c, MHD_HTTP_PERMANENT_REDIRECT, resp);
}

static enum MHD_Result refuse(struct MHD_Connection *c, const char *url)
{
	json_t *j = json_pack("{s:s, s:s*}", "error", "HTTPS is required here ([HTTP] RequireTLS=yes)", "url",
			      *url ? url : NULL);

	return httpd_routes_queue(c, MHD_HTTP_FORBIDDEN, httpd_routes_json(j));
}

int httpd_tls_check(struct httpd_srv *srv, struct MHD_Connection *c, const char *url, const char *method,
		    enum MHD_Result *ret)
{
	const struct httpd *h = srv->h;
	const struct httpd_endpoint *tls = &h->ep[HTTPD_EP_TLS];
	char location[HTTPD_URL_MAX] = "";
	bool have_url;

	if (srv->ep->tls || !h->dual)
		return 0;
	have_url = tls->cur && https_url(c, tls->port, url, location, sizeof(location));
	if (have_url && is_page_request(c, url, method)) {
		*ret = redirect(c, location);
		return -1;
	}
	if (!h->require_tls)
		return 0;
	*ret = refuse(c, location);
	return -1;
}
