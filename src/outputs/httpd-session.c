/* SPDX-License-Identifier: MIT */
/*
 * The web page's session (see httpd.h): one at a time, as the manual says.
 * POST /api/v1/session with {"user","password"} checks them like basic auth
 * (the same lockout and budget, httpd-auth.c) and answers a cookie holding
 * 32 random bytes from OpenSSL's generator; a new sign-in ends the session
 * before it, whose next request gets 401 "signed in elsewhere". A session
 * unused for the idle time ends ("session expired"). DELETE signs out.
 *
 * Only a SHA-256 of the token is kept: the comparison is then between two
 * digests of fixed length, in constant time, and the token itself is not in
 * the daemon's memory once answered.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "smartconnectd/base/log.h"

#include "httpd-internal.h"

#define SESSION_COOKIE "sc_session"
#define SESSION_TOKEN_BYTES 32

static void token_digest(const char *token, unsigned char out[HTTPD_SESSION_DIGEST])
{
	SHA256((const unsigned char *) token, strlen(token), out);
}

static uint64_t now_usec(struct httpd *h)
{
	uint64_t now = 0;

	(void) sd_event_now(h->event, CLOCK_MONOTONIC, &now);
	return now;
}

/* The session cookie of c when it looks like one of ours, else NULL. */
static const char *session_cookie(struct MHD_Connection *c)
{
	const char *v = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, SESSION_COOKIE);

	if (!v || strlen(v) != 2 * SESSION_TOKEN_BYTES || strspn(v, "0123456789abcdef") != strlen(v))
		return NULL;
	return v;
}

void httpd_session_end(struct httpd *h)
{
	OPENSSL_cleanse(&h->session, sizeof(h->session));
}

/* 401 without a basic challenge: the page shows the error, the browser no dialog. */
static enum MHD_Result respond_401(struct MHD_Connection *c, const char *why)
{
	return httpd_routes_queue(c, MHD_HTTP_UNAUTHORIZED,
				  httpd_routes_json(json_pack("{s:s}", "error", why)));
}

/* Why the token with digest d is not (or no longer) a session, NULL when it is one. */
static const char *session_refused(struct httpd *h, const unsigned char d[HTTPD_SESSION_DIGEST], uint64_t now)
{
	struct httpd_session *s = &h->session;

	if (s->active && CRYPTO_memcmp(d, s->digest, HTTPD_SESSION_DIGEST) == 0) {
		if (now - s->last_usec <= h->session_idle_usec) {
			s->last_usec = now;
			return NULL;
		}
		httpd_session_end(h);
		return "session expired";
	}
	if (s->replaced_set && CRYPTO_memcmp(d, s->replaced, HTTPD_SESSION_DIGEST) == 0)
		return "signed in elsewhere";
	return "not signed in";
}

int httpd_session_check(struct httpd *h, struct MHD_Connection *c, enum MHD_Result *ret)
{
	unsigned char d[HTTPD_SESSION_DIGEST];
	const char *token = session_cookie(c), *why;

	if (!token)
		return 1;
	token_digest(token, d);
	why = session_refused(h, d, now_usec(h));
	if (!why)
		return 0;
	log_debug("HTTP: session refused: %s", why);
	*ret = respond_401(c, why);
	return -EACCES;
}

/* A new session for the user, the one before it ended; its token in hex. */
static int session_start(struct httpd *h, char hex[2 * SESSION_TOKEN_BYTES + 1])
{
	unsigned char raw[SESSION_TOKEN_BYTES];
	struct httpd_session *s = &h->session;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -EIO;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	OPENSSL_cleanse(raw, sizeof(raw));
	if (s->active) {
		memcpy(s->replaced, s->digest, HTTPD_SESSION_DIGEST);
		s->replaced_set = true;
		/* The page of the session before holds a live stream: it ends,
		 * and its reconnection learns why. */
		(void) httpd_live_end_sessions(h);
	}
	token_digest(hex, s->digest);
	s->active = true;
	s->last_usec = now_usec(h);
	return 0;
}

static enum MHD_Result respond_cookie(struct httpd *h, struct httpd_request *rq, struct MHD_Connection *c,
				      const char *token)
{
	struct MHD_Response *resp;
	char cookie[160];

	if (token)
		snprintf(cookie, sizeof(cookie), SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict%s",
			 token, rq->srv->ep->tls ? "; Secure" : "");
	else
		snprintf(cookie, sizeof(cookie),
			 SESSION_COOKIE "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
			 rq->srv->ep->tls ? "; Secure" : "");
	resp =
	    httpd_routes_json(json_pack("{s:b,s:s,s:I}", "signed_in", token != NULL, "user", h->mat.user,
					"idle_timeout", (json_int_t) (h->session_idle_usec / USEC_PER_SEC)));
	if (resp)
		(void) MHD_add_response_header(resp, "Set-Cookie", cookie);
	OPENSSL_cleanse(cookie, sizeof(cookie));
	return httpd_routes_queue(c, MHD_HTTP_OK, resp);
}

enum MHD_Result httpd_session_on_post(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	char token[2 * SESSION_TOKEN_BYTES + 1];
	const char *user = NULL, *pass = NULL;
	json_t *j = rq->body ? json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	enum MHD_Result ret;
	int r;

	if (!j || json_unpack(j, "{s:s,s:s}", "user", &user, "password", &pass) < 0) {
		json_decref(j);
		return httpd_routes_queue(
		    c, MHD_HTTP_BAD_REQUEST,
		    httpd_routes_json(
			json_pack("{s:s}", "error", "expected {\"user\": ..., \"password\": ...}")));
	}
	r = httpd_auth_login(h, c, user, pass, &ret);
	if (rq->body)
		OPENSSL_cleanse(rq->body, rq->len);
	json_decref(j);
	if (r < 0)
		return ret;
	if (session_start(h, token) < 0)
		return httpd_routes_queue(
		    c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    httpd_routes_json(json_pack("{s:s}", "error", "no random numbers")));
	log_info("HTTP: signed in through the page; any session before ends");
	ret = respond_cookie(h, rq, c, token);
	OPENSSL_cleanse(token, sizeof(token));
	return ret;
}

/* Signing out needs the session itself (or basic auth): another page cannot end it. */
enum MHD_Result httpd_session_on_delete(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	enum MHD_Result ret;

	if (httpd_auth_check(h, c, &ret) < 0)
		return ret;
	if (session_cookie(c))
		httpd_session_end(h);
	return respond_cookie(h, rq, c, NULL);
}

/* Whether the page is signed in: without a session, 401 and why, no challenge. */
enum MHD_Result httpd_session_on_get(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	enum MHD_Result ret;
	int r = httpd_session_check(h, c, &ret);

	if (r < 0)
		return ret;
	if (r > 0)
		return respond_401(c, "not signed in");
	(void) rq;
	return httpd_routes_queue(
	    c, MHD_HTTP_OK,
	    httpd_routes_json(json_pack("{s:b,s:s,s:I}", "signed_in", 1, "user", h->mat.user, "idle_timeout",
					(json_int_t) (h->session_idle_usec / USEC_PER_SEC))));
}
