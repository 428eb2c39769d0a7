/* SPDX-License-Identifier: MIT */
/*
 * HTTP basic auth with a lockout (see httpd.h): credentials are compared in
 * constant time; a source (IPv4 address, IPv6 /64: one host has a whole /64
 * to pick from) that fails HTTPD_FAIL_FREE times in a row gets 429 with
 * Retry-After for a doubling time, and its credentials are not looked at
 * meanwhile. A success clears the source.
 *
 * The table is bounded, and a locked source keeps its slot until its lock
 * ends: were it evicted, failures from enough other sources would unlock it.
 * When every slot is locked, a new source is not counted; the global budget
 * still bounds it: at most HTTPD_CHECKS_PER_SEC failed logins per second are
 * checked in all, whatever the number of sources; past that, credentials get
 * 429 without a look.
 */
#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smartconnectd/base/log.h"

#include "httpd-internal.h"

#define HTTPD_REALM "smartconnect"
#define HTTPD_FAIL_FORGET_USEC (15 * 60 * USEC_PER_SEC)
#define HTTPD_TOKEN 1000000ull /* one checked failure, in the budget's unit */

/* The source of sa: family and address, IPv4-mapped IPv6 as IPv4, IPv6 cut to its /64. */
static bool fail_source(const struct sockaddr *sa, int *ret_family, uint8_t addr[16])
{
	const struct in6_addr *a6;

	memset(addr, 0, 16);
	if (sa && sa->sa_family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *) sa)->sin_addr, 4);
		*ret_family = AF_INET;
		return true;
	}
	if (!sa || sa->sa_family != AF_INET6)
		return false;
	a6 = &((const struct sockaddr_in6 *) sa)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(a6)) {
		memcpy(addr, a6->s6_addr + 12, 4);
		*ret_family = AF_INET;
	} else {
		memcpy(addr, a6->s6_addr, 8);
		*ret_family = AF_INET6;
	}
	return true;
}

static struct httpd_fail *fail_slot(struct httpd *h, const struct sockaddr *sa, bool create, uint64_t now)
{
	struct httpd_fail *victim = NULL;
	uint8_t addr[16];
	int family;

	if ((!create && h->fails_used == 0) || !fail_source(sa, &family, addr))
		return NULL;
	for (size_t i = 0; i < HTTPD_FAIL_SLOTS; i++) {
		struct httpd_fail *f = &h->fails[i];
		bool locked = f->used && f->locked_until > now;

		if (f->used && !locked && now - f->last_usec > HTTPD_FAIL_FORGET_USEC) {
			f->used = false;
			h->fails_used--;
		}
		if (f->used && f->family == family && memcmp(f->addr, addr, sizeof(f->addr)) == 0)
			return f;
		/* A free slot, else the least recently used one that is not locked. */
		if (!locked && (!victim || (victim->used && (!f->used || f->last_usec < victim->last_usec))))
			victim = f;
	}
	if (!create || !victim)
		return NULL;
	if (!victim->used)
		h->fails_used++;
	*victim = (struct httpd_fail){ .used = true, .family = family, .last_usec = now };
	memcpy(victim->addr, addr, sizeof(addr));
	return victim;
}

static void fail_count(struct httpd_fail *f, uint64_t now)
{
	f->fails++;
	f->last_usec = now;
	if (f->fails >= HTTPD_FAIL_FREE) {
		unsigned shift = MIN(f->fails - HTTPD_FAIL_FREE, 16u);
		uint64_t sec = MIN(1ull << shift, (uint64_t) HTTPD_LOCKOUT_MAX_SEC);

		f->locked_until = now + sec * USEC_PER_SEC;
	}
}

/* Whether one more failed login may be checked now; refills the bucket. */
static bool budget_left(struct httpd_budget *b, uint64_t now)
{
	uint64_t full = HTTPD_CHECKS_PER_SEC * HTTPD_TOKEN;

	if (b->last_usec == 0)
		b->tokens = full;
	else if (now > b->last_usec)
		b->tokens = MIN(full, b->tokens + (now - b->last_usec) * HTTPD_CHECKS_PER_SEC);
	b->last_usec = now;
	return b->tokens >= HTTPD_TOKEN;
}

/* Equal in a time that depends only on the length of what the client sent:
 * every byte of a is compared, against b read cyclically, and b's length
 * enters through one comparison, so neither b's bytes nor its length show.
 * (Hashing both, as before, cost two SHA-256 digests and an OpenSSL
 * algorithm fetch each: a third of a status request.) */
static bool secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned diff = la != lb;

	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char) a[i] ^ (lb ? (unsigned char) b[i % lb] : 0u);
	return diff == 0;
}

/* "Basic <base64 of user:password>", the scheme in any case (RFC 7617, 7235).
 * *ret is "user\0password\0" in one buffer of *ret_size bytes, or NULL when
 * the request has no basic credentials. -ENOMEM or 0. */
static int auth_credentials(struct MHD_Connection *c, char **ret, size_t *ret_size)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	size_t len, pad = 0;
	char *buf, *colon;
	int n;

	*ret = NULL;
	if (!v)
		return 0;
	v += strspn(v, " \t");
	if (strncasecmp(v, "Basic", 5) != 0 || (v[5] != ' ' && v[5] != '\t'))
		return 0;
	v += 5 + strspn(v + 5, " \t");
	len = strcspn(v, " \t");
	if (len == 0 || len % 4 != 0 || v[len + strspn(v + len, " \t")] != '\0' || len > INT32_MAX)
		return 0;
	pad = (v[len - 1] == '=') + (v[len - 2] == '=');
	buf = malloc(len / 4 * 3 + 2);
	if (!buf)
		return -ENOMEM;
	n = EVP_DecodeBlock((unsigned char *) buf, (const unsigned char *) v, (int) len);
	if (n < 0 || (size_t) n < pad || !(colon = memchr(buf, ':', (size_t) n - pad)) ||
	    memchr(buf, '\0', (size_t) n - pad)) {
		free(buf);
		return 0;
	}
	n -= (int) pad;
	buf[n] = '\0';
	*colon = '\0';
	*ret = buf;
	*ret_size = (size_t) n + 1;
	return 0;
}

static enum MHD_Result respond_429(struct MHD_Connection *c, uint64_t wait_usec, const char *msg)
{
	struct MHD_Response *resp = httpd_routes_json(json_pack("{s:s}", "error", msg));
	char retry[32];

	snprintf(retry, sizeof(retry), "%llu",
		 (unsigned long long) MAX((wait_usec + USEC_PER_SEC - 1) / USEC_PER_SEC, 1ull));
	if (resp)
		(void) MHD_add_response_header(resp, "Retry-After", retry);
	return httpd_routes_queue(c, MHD_HTTP_TOO_MANY_REQUESTS, resp);
}

static int respond_401(struct MHD_Connection *c, enum MHD_Result *ret)
{
	struct MHD_Response *resp = httpd_routes_json(json_pack("{s:s}", "error", "authentication required"));

	if (!resp) {
		*ret = MHD_NO;
		return -ENOMEM;
	}
	httpd_routes_headers(resp);
	httpd_conn_answering(c);
	*ret = MHD_queue_basic_auth_fail_response(c, HTTPD_REALM, resp);
	MHD_destroy_response(resp);
	if (*ret == MHD_YES)
		httpd_conn_count(c, MHD_HTTP_UNAUTHORIZED);
	return -EACCES;
}

/* Compare the credentials and count a failure: whether they are right. f:
 * the source's slot as auth_gate() found it just before (NULL: none). */
static bool auth_verify(struct httpd *h, const struct sockaddr *sa, struct httpd_fail *f, const char *user,
			const char *pass, uint64_t now)
{
	/* Both compared, whichever differs: no short-circuit to time. */
	bool ok = (int) secret_equal(user, h->mat.user) & (int) secret_equal(pass, h->mat.password);

	if (!ok && !f)
		f = fail_slot(h, sa, true, now);
	if (ok) {
		if (f) {
			f->used = false;
			h->fails_used--;
		}
		return true;
	}
	h->budget.tokens -= HTTPD_TOKEN;
	h->counters.auth_failures++;
	if (f)
		fail_count(f, now);
	log_debug("HTTP: wrong credentials for user '%.64s'", user);
	return false;
}

/* A locked source, or no budget left for one more check: 429 queued, -EPERM. */
static int auth_gate(struct httpd *h, struct MHD_Connection *c, const struct sockaddr *sa, uint64_t now,
		     bool has_cred, struct httpd_fail **ret_slot, enum MHD_Result *ret)
{
	struct httpd_fail *f = fail_slot(h, sa, false, now);

	*ret_slot = f;
	if (f && f->locked_until > now) {
		*ret = respond_429(c, f->locked_until - now,
				   "too many failed logins from this address, try again later");
		return -EPERM;
	}
	/* A request without credentials is how a browser asks for the login
	 * dialog: only wrong credentials count, and only they need budget. */
	if (has_cred && !budget_left(&h->budget, now)) {
		*ret = respond_429(c, USEC_PER_SEC, "too many failed logins, try again later");
		return -EPERM;
	}
	return 0;
}

static const struct sockaddr *client_addr(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	return ci ? ci->client_addr : NULL;
}

int httpd_auth_login(struct httpd *h, struct MHD_Connection *c, const char *user, const char *pass,
		     enum MHD_Result *ret)
{
	const struct sockaddr *sa = client_addr(c);
	struct httpd_fail *f;
	uint64_t now = 0;

	(void) sd_event_now(h->event, CLOCK_MONOTONIC, &now);
	if (auth_gate(h, c, sa, now, true, &f, ret) < 0)
		return -EPERM;
	if (auth_verify(h, sa, f, user, pass, now))
		return 0;
	*ret =
	    httpd_routes_queue(c, MHD_HTTP_UNAUTHORIZED,
			       httpd_routes_json(json_pack("{s:s}", "error", "wrong user name or password")));
	return -EACCES;
}

/* 0: basic credentials good, 1: the page's session; otherwise the response
 * is queued and its result in *ret. A request with basic credentials is
 * judged by them alone, so scripts work whatever the page's session does. */
int httpd_auth_check(struct httpd *h, struct MHD_Connection *c, enum MHD_Result *ret)
{
	const struct sockaddr *sa = client_addr(c);
	_cleanup_free_ char *cred = NULL;
	struct httpd_fail *f;
	size_t size = 0;
	uint64_t now = 0;
	bool ok;
	int r;

	if (!MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION)) {
		r = httpd_session_check(h, c, ret);
		if (r <= 0)
			return r < 0 ? r : 1;
	}
	(void) sd_event_now(h->event, CLOCK_MONOTONIC, &now);
	r = auth_credentials(c, &cred, &size);
	if (r < 0) {
		*ret = MHD_NO;
		return r;
	}
	if (auth_gate(h, c, sa, now, cred != NULL, &f, ret) < 0) {
		if (cred)
			OPENSSL_cleanse(cred, size);
		return -EPERM;
	}
	ok = cred && auth_verify(h, sa, f, cred, cred + strlen(cred) + 1, now);
	if (cred)
		OPENSSL_cleanse(cred, size);
	if (ok)
		return 0;
	return respond_401(c, ret);
}
