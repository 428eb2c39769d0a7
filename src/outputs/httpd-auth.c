/* SPDX-License-Identifier: MIT */
/*
 * HTTP basic auth with a per-address lockout (see httpd.h): credentials are
 * compared in constant time; an address that fails HTTPD_FAIL_FREE times in a
 * row gets 429 with Retry-After for a doubling time, and its credentials are
 * not looked at meanwhile. A success clears the address.
 */
#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "smartconnectd/base/log.h"

#include "httpd-internal.h"

#define HTTPD_REALM "smartconnect"
#define HTTPD_FAIL_FORGET_USEC (15 * 60 * USEC_PER_SEC)

static struct httpd_fail *fail_slot(struct httpd *h, const struct sockaddr *sa, bool create, uint64_t now)
{
	uint8_t addr[16] = {};
	struct httpd_fail *oldest = NULL;
	size_t alen;

	if (!sa)
		return NULL;
	if (sa->sa_family == AF_INET) {
		alen = 4;
		memcpy(addr, &((const struct sockaddr_in *) sa)->sin_addr, alen);
	} else if (sa->sa_family == AF_INET6) {
		alen = 16;
		memcpy(addr, &((const struct sockaddr_in6 *) sa)->sin6_addr, alen);
	} else {
		return NULL;
	}

	for (size_t i = 0; i < HTTPD_FAIL_SLOTS; i++) {
		struct httpd_fail *f = &h->fails[i];

		if (f->used && now - f->last_usec > HTTPD_FAIL_FORGET_USEC && now > f->locked_until)
			f->used = false;
		if (f->used && f->family == sa->sa_family && memcmp(f->addr, addr, alen) == 0)
			return f;
		/* A free slot, else the least recently used one. */
		if (!oldest || (oldest->used && (!f->used || f->last_usec < oldest->last_usec)))
			oldest = f;
	}
	if (!create)
		return NULL;
	*oldest = (struct httpd_fail){ .used = true, .family = sa->sa_family, .last_usec = now };
	memcpy(oldest->addr, addr, sizeof(addr));
	return oldest;
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

/* Equal in constant time, whatever the lengths: compare digests. */
static bool secret_equal(const char *a, const char *b)
{
	unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *) a, strlen(a), da);
	SHA256((const unsigned char *) b, strlen(b), db);
	return CRYPTO_memcmp(da, db, sizeof(da)) == 0;
}

/* 0: credentials good; otherwise the response is queued and its result in *ret. */
int httpd_auth_check(struct httpd *h, struct MHD_Connection *c, enum MHD_Result *ret)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	char *user, *pass = NULL;
	struct httpd_fail *f;
	uint64_t now = 0;
	bool ok;

	(void) sd_event_now(h->event, CLOCK_MONOTONIC, &now);
	f = fail_slot(h, sa, false, now);
	if (f && f->locked_until > now) {
		struct MHD_Response *resp = httpd_routes_json(
		    json_pack("{s:s}", "error", "too many failed logins from this address, try again later"));
		char retry[32];

		snprintf(retry, sizeof(retry), "%llu",
			 (unsigned long long) ((f->locked_until - now + USEC_PER_SEC - 1) / USEC_PER_SEC));
		if (resp)
			(void) MHD_add_response_header(resp, "Retry-After", retry);
		*ret = httpd_routes_queue(c, MHD_HTTP_TOO_MANY_REQUESTS, resp);
		return -EPERM;
	}

	user = MHD_basic_auth_get_username_password(c, &pass);
	ok = user && pass && secret_equal(user, h->mat.user) & secret_equal(pass, h->mat.password);
	if (pass)
		OPENSSL_cleanse(pass, strlen(pass));
	if (ok) {
		if (f)
			f->used = false;
	} else if (user) {
		/* A request without credentials is how a browser asks for the
		 * login dialog: only wrong credentials count. */
		f = fail_slot(h, sa, true, now);
		if (f)
			fail_count(f, now);
		log_debug("HTTP: wrong credentials for user '%.64s'", user);
	}
	MHD_free(user);
	MHD_free(pass);
	if (ok)
		return 0;

	struct MHD_Response *resp = httpd_routes_json(json_pack("{s:s}", "error", "authentication required"));
	if (!resp) {
		*ret = MHD_NO;
		return -ENOMEM;
	}
	httpd_routes_headers(resp);
	*ret = MHD_queue_basic_auth_fail_response(c, HTTPD_REALM, resp);
	MHD_destroy_response(resp);
	return -EACCES;
}
