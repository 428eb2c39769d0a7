/* SPDX-License-Identifier: MIT */
/*
 * Which requests come for this gateway (see httpd.h). A page on a foreign
 * site can make a browser send requests here under the site's own name, once
 * that name resolves to our address (DNS rebinding); the browser then sees
 * our answers as the site's. The Host header gives it away: only names of
 * this gateway are served, everything else gets 421.
 *
 * And a page on another site must not make a browser act here with the
 * user's cached credentials: a state-changing request names this host in its
 * Origin (one at most) or, without Origin, in its Referer.
 *
 * The addresses are the interfaces' at the time of the request
 * (getifaddrs(), a netlink query: it never waits on another process).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "smartconnectd/base/log.h"

#include "httpd-internal.h"

#define HTTPD_NAME_MAX 256

int httpd_host_set(struct httpd *h, const char *local_name, const char *allowed)
{
	char buf[HTTPD_HOSTS_MAX] = "";
	size_t n = 0;
	int r = 0;

	if (local_name && *local_name)
		n = (size_t) snprintf(buf, sizeof(buf), "%s.local", local_name);
	for (const char *p = allowed ?: ""; *p;) {
		size_t len = strcspn(p, " \t,");

		if (len > 0) {
			if (n + 1 + len >= sizeof(buf)) {
				r = -EINVAL;
				break;
			}
			n +=
			    (size_t) snprintf(buf + n, sizeof(buf) - n, "%s%.*s", n ? " " : "", (int) len, p);
		}
		p += len + (p[len] != '\0');
	}
	for (char *q = buf; *q; q++)
		*q = (char) (*q >= 'A' && *q <= 'Z' ? *q - 'A' + 'a' : *q);
	memcpy(h->hosts, buf, sizeof(buf));
	return r;
}

/* The host part of a Host value ("name[:port]", "[v6][:port]"), lower case,
 * without a trailing dot or an IPv6 zone. -EINVAL when it cannot be one. */
static int host_name_of(const char *value, char ret[HTTPD_NAME_MAX])
{
	const char *end;
	size_t len;

	if (*value == '[') {
		value++;
		end = strchr(value, ']');
		if (!end || (end[1] && end[1] != ':'))
			return -EINVAL;
	} else {
		end = strchr(value, ':') ?: value + strlen(value);
		if (strchr(end + (*end == ':'), ':'))
			return -EINVAL;
	}
	len = (size_t) (end - value);
	if (len == 0 || len >= HTTPD_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		ret[i] = (char) (value[i] >= 'A' && value[i] <= 'Z' ? value[i] - 'A' + 'a' : value[i]);
	ret[len] = '\0';
	ret[strcspn(ret, "%")] = '\0';
	if (len > 1 && ret[len - 1] == '.')
		ret[len - 1] = '\0';
	return 0;
}

static bool addr_is_local(int family, const void *addr)
{
	struct ifaddrs *ifa_list = NULL;
	bool found = false;

	if (family == AF_INET && (((const uint8_t *) addr)[0] == 127))
		return true;
	if (family == AF_INET6 && IN6_IS_ADDR_LOOPBACK((const struct in6_addr *) addr))
		return true;
	if (getifaddrs(&ifa_list) < 0)
		return false;
	for (struct ifaddrs *i = ifa_list; i && !found; i = i->ifa_next) {
		const struct sockaddr *sa = i->ifa_addr;

		if (!sa || sa->sa_family != family)
			continue;
		if (family == AF_INET)
			found = memcmp(&((const struct sockaddr_in *) sa)->sin_addr, addr, 4) == 0;
		else
			found = memcmp(&((const struct sockaddr_in6 *) sa)->sin6_addr, addr, 16) == 0;
	}
	freeifaddrs(ifa_list);
	return found;
}

static bool name_is_listed(const char *list, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = list; *p;) {
		size_t n = strcspn(p, " ");

		if (n == len && memcmp(p, name, len) == 0)
			return true;
		p += n + (p[n] == ' ');
	}
	return false;
}

/* The host name, whole or its first label. */
static bool name_is_hostname(const char *name)
{
	char hn[HTTPD_NAME_MAX] = "";

	if (gethostname(hn, sizeof(hn) - 1) < 0 || !*hn)
		return false;
	if (strcasecmp(hn, name) == 0)
		return true;
	hn[strcspn(hn, ".")] = '\0';
	return strcasecmp(hn, name) == 0;
}

static bool host_is_ours(const struct httpd *h, const char *value)
{
	char name[HTTPD_NAME_MAX];
	unsigned char addr[16];

	if (host_name_of(value, name) < 0)
		return false;
	if (inet_pton(AF_INET, name, addr) == 1)
		return addr_is_local(AF_INET, addr) || name_is_listed(h->hosts, name);
	if (inet_pton(AF_INET6, name, addr) == 1)
		return addr_is_local(AF_INET6, addr) || name_is_listed(h->hosts, name);
	return strcmp(name, "localhost") == 0 || name_is_listed(h->hosts, name) || name_is_hostname(name);
}

/* Whether url ("scheme://authority[/...]") names the authority host. */
static bool url_names(const char *url, const char *host)
{
	const char *rest;
	size_t len;

	if (strncasecmp(url, "http://", 7) == 0)
		rest = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		rest = url + 8;
	else
		return false;
	len = strcspn(rest, "/?#");
	return len == strlen(host) && strncasecmp(rest, host, len) == 0;
}

static enum MHD_Result count_origin(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void) kind;
	(void) value;
	if (strcasecmp(key, "Origin") == 0)
		(*(unsigned *) cls)++;
	return MHD_YES;
}

/* A page of this gateway: 0, or the reason why not. */
static const char *same_site(struct MHD_Connection *c, const char *host, bool changes_state)
{
	const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	const char *referer;
	unsigned origins = 0;

	/* Counted only when there is one: without, there is nothing to count. */
	if (origin)
		(void) MHD_get_connection_values(c, MHD_HEADER_KIND, count_origin, &origins);
	if (origins > 1)
		return "more than one Origin header";
	if (!changes_state)
		return NULL;
	if (origin)
		return host && url_names(origin, host) ? NULL : "cross-origin request refused";
	/* Browsers that send no Origin still send the page in Referer, unless
	 * the page forbade it; a client without either is no browser. */
	referer = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Referer");
	if (referer && !(host && url_names(referer, host)))
		return "cross-site request refused (Referer)";
	return NULL;
}

int httpd_host_check(struct httpd *h, struct MHD_Connection *c, bool changes_state, enum MHD_Result *ret)
{
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	const char *why;

	/* No Host at all is HTTP/1.0 (MHD refuses it in 1.1): not a browser. */
	if (host && !host_is_ours(h, host)) {
		log_debug("HTTP: refusing a request for host '%.64s'", host);
		*ret = httpd_routes_queue(
		    c, MHD_HTTP_MISDIRECTED_REQUEST,
		    httpd_routes_json(json_pack("{s:s}", "error",
						"this gateway does not serve this host name; "
						"use its address or add the name to [HTTP] AllowedHosts=")));
		return -EPERM;
	}
	why = same_site(c, host, changes_state);
	if (why) {
		*ret = httpd_routes_queue(c, MHD_HTTP_FORBIDDEN,
					  httpd_routes_json(json_pack("{s:s}", "error", why)));
		return -EPERM;
	}
	return 0;
}
