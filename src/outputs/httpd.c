/* SPDX-License-Identifier: MIT */
/*
 * The HTTP server (see httpd.h): libmicrohttpd instances in the sd-event loop,
 * basic auth with a per-address lockout, the routing table and the responses.
 *
 * A reconfiguration never stops the instance that is serving the request
 * that caused it: the old instance is quiesced (it stops accepting, the
 * listener stays ours), a new one takes the listener, and the old one is
 * freed from its own event handler once its connections are gone.
 *
 * Not here: what the answers contain (struct httpd_ops, given by the daemon).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "smartconnectd/outputs/httpd.h"
#include "smartconnectd/net/listener.h"
#include "smartconnectd/base/log.h"
#include "web-page.h"

#define HTTPD_BACKLOG 64
#define HTTPD_REALM "smartconnect"
#define HTTPD_FAIL_SLOTS 64
#define HTTPD_FAIL_FORGET_USEC (15 * 60 * USEC_PER_SEC)
#define HTTPD_FILE_MAX (64 * 1024)
#define HTTPD_PASSWORD_MAX 256

/* Content security policy of the page: everything from here, inline script
 * and style allowed (the page is one self-contained file without any
 * user-supplied markup), no framing, no plugins, no foreign form targets. */
#define HTTPD_CSP                                                                                            \
	"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "          \
	"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " \
	"frame-ancestors 'none'"

/* Everything a running instance was made from; a change means a new instance. */
struct httpd_material {
	char user[128];
	char password[HTTPD_PASSWORD_MAX];
	char *cert, *key; /* PEM text, NULL for plain HTTP */
	unsigned max_connections, max_per_ip, timeout_sec;
};

struct httpd_srv {
	struct httpd *h;
	struct MHD_Daemon *mhd;
	sd_event_source *io, *timer;
	bool retiring;     /* quiesced: serves its connections, then goes */
	uint64_t deadline; /* CLOCK_MONOTONIC: retiring ends at the latest then */
	struct httpd_srv *next;
};

struct httpd_fail {
	bool used;
	int family;
	uint8_t addr[16];
	unsigned fails;
	uint64_t last_usec, locked_until;
};

struct httpd {
	sd_event *event;
	const struct httpd_ops *ops;
	void *userdata;

	int listen_fd;
	bool activated;
	uint16_t port;
	char host[256];
	uint16_t cfg_port;

	struct httpd_material mat;
	struct httpd_srv *cur;
	struct httpd_srv *retired; /* list */
	struct httpd_fail fails[HTTPD_FAIL_SLOTS];
};

/* Per request: the body being collected. */
struct httpd_request {
	char *body;
	size_t len;
	bool too_large;
};

static void material_clear(struct httpd_material *m)
{
	OPENSSL_cleanse(m->password, sizeof(m->password));
	free(m->cert);
	if (m->key)
		OPENSSL_cleanse(m->key, strlen(m->key));
	free(m->key);
	*m = (struct httpd_material){};
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool material_equal(const struct httpd_material *a, const struct httpd_material *b)
{
	return strcmp(a->user, b->user) == 0 && strcmp(a->password, b->password) == 0 &&
	       str_eq(a->cert, b->cert) && str_eq(a->key, b->key) &&
	       a->max_connections == b->max_connections && a->max_per_ip == b->max_per_ip &&
	       a->timeout_sec == b->timeout_sec;
}

/* The whole file as a string; -EFBIG over HTTPD_FILE_MAX. */
static int read_text_file(const char *path, char **ret)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	size_t n = 0;

	if (fd < 0)
		return -errno;
	buf = malloc(HTTPD_FILE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t k = read(fd, buf + n, HTTPD_FILE_MAX + 1 - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		n += (size_t) k;
		if (n > HTTPD_FILE_MAX)
			return -EFBIG;
	}
	buf[n] = '\0';
	*ret = TAKE_PTR(buf);
	return 0;
}

/* Build the material from the settings; logs what it cannot read. A missing
 * password is not an error here: the caller decides. */
static int material_load(const struct httpd_settings *s, struct httpd_material *m)
{
	int r;

	*m = (struct httpd_material){
		.max_connections = s->max_connections,
		.max_per_ip = s->max_per_ip,
		.timeout_sec = s->timeout_sec,
	};
	snprintf(m->user, sizeof(m->user), "%s", s->user);

	if (s->password && *s->password) {
		snprintf(m->password, sizeof(m->password), "%s", s->password);
	} else if (s->password_file && *s->password_file) {
		_cleanup_free_ char *text = NULL;

		r = read_text_file(s->password_file, &text);
		if (r < 0 && r != -ENOENT)
			log_error_errno(r, "Cannot read the HTTP password file '%s': %m", s->password_file);
		if (r == 0) {
			text[strcspn(text, "\r\n")] = '\0';
			if (strlen(text) >= sizeof(m->password))
				log_error(
				    "HTTP password file '%s': the password is longer than %d characters",
				    s->password_file, HTTPD_PASSWORD_MAX - 1);
			else
				snprintf(m->password, sizeof(m->password), "%s", text);
			OPENSSL_cleanse(text, strlen(text));
		}
	}

	if (s->certificate && *s->certificate) {
		r = read_text_file(s->certificate, &m->cert);
		if (r < 0) {
			material_clear(m);
			return log_error_errno(r, "Cannot read the HTTPS certificate '%s': %m",
					       s->certificate);
		}
		r = read_text_file(s->key, &m->key);
		if (r < 0) {
			material_clear(m);
			return log_error_errno(r, "Cannot read the HTTPS key '%s': %m", s->key);
		}
	}
	return 0;
}

/* ---- failed logins ---------------------------------------------------------------------------- */

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

/* ---- responses -------------------------------------------------------------------------------- */

static void add_common_headers(struct MHD_Response *resp)
{
	(void) MHD_add_response_header(resp, "Cache-Control", "no-store");
	(void) MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	(void) MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
}

static enum MHD_Result queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	add_common_headers(resp);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static struct MHD_Response *json_response(json_t *j)
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

static enum MHD_Result respond_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
	return queue(c, status, json_response(j));
}

static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	return respond_json(c, status, json_pack("{s:s}", "error", msg));
}

static enum MHD_Result respond_405(struct MHD_Connection *c, const char *allow)
{
	struct MHD_Response *resp = json_response(json_pack("{s:s}", "error", "method not allowed"));

	if (resp)
		(void) MHD_add_response_header(resp, "Allow", allow);
	return queue(c, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
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
	return queue(c, MHD_HTTP_OK, resp);
}

static enum MHD_Result on_status(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	(void) rq;
	return respond_json(c, MHD_HTTP_OK, h->ops->status(h->userdata));
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
	return queue(c, MHD_HTTP_OK, resp);
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

static enum MHD_Result on_firmware_get(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	(void) rq;
	return respond_json(c, MHD_HTTP_OK,
			    json_pack("{s:s,s:s,s:s,s:s}", "version", h->ops->version, "update_state",
				      "managed-by-package", "package", "smartconnect", "update_command",
				      "apt update && apt upgrade smartconnect"));
}

static enum MHD_Result on_firmware_post(struct httpd *h, struct MHD_Connection *c, struct httpd_request *rq)
{
	(void) rq;
	return respond_json(
	    c, MHD_HTTP_NOT_IMPLEMENTED,
	    json_pack("{s:s,s:s,s:s}", "error",
		      "this daemon is updated by the Debian package manager, not through the API; "
		      "run: apt update && apt upgrade smartconnect",
		      "version", h->ops->version, "update_state", "managed-by-package"));
}

struct httpd_route {
	const char *path;
	const char *allow;
	httpd_handler_fn get, patch, post;
};

static const struct httpd_route routes[] = {
	{ "/", "GET, HEAD", .get = on_page },
	{ "/api/v1/status", "GET, HEAD", .get = on_status },
	{ "/api/v1/config", "GET, HEAD, PATCH", .get = on_config_get, .patch = on_config_patch },
	{ "/api/v1/telegram", "GET, HEAD", .get = on_telegram },
	{ "/api/v1/reset", "POST", .post = on_reset },
	{ "/api/v1/firmware", "GET, HEAD, POST", .get = on_firmware_get, .post = on_firmware_post },
};

static const struct httpd_route *find_route(const char *url)
{
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++)
		if (strcmp(routes[i].path, url) == 0)
			return &routes[i];
	return NULL;
}

static httpd_handler_fn route_handler(const struct httpd_route *rt, const char *method)
{
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		return rt->get;
	if (strcmp(method, "PATCH") == 0)
		return rt->patch;
	if (strcmp(method, "POST") == 0)
		return rt->post;
	return NULL;
}

/* ---- request processing ----------------------------------------------------------------------- */

/* 0: credentials good; otherwise the response is queued and its result in *ret. */
static int check_auth(struct httpd *h, struct MHD_Connection *c, enum MHD_Result *ret)
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
		struct MHD_Response *resp = json_response(
		    json_pack("{s:s}", "error", "too many failed logins from this address, try again later"));
		char retry[32];

		snprintf(retry, sizeof(retry), "%llu",
			 (unsigned long long) ((f->locked_until - now + USEC_PER_SEC - 1) / USEC_PER_SEC));
		if (resp)
			(void) MHD_add_response_header(resp, "Retry-After", retry);
		*ret = queue(c, MHD_HTTP_TOO_MANY_REQUESTS, resp);
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

	struct MHD_Response *resp = json_response(json_pack("{s:s}", "error", "authentication required"));
	if (!resp) {
		*ret = MHD_NO;
		return -ENOMEM;
	}
	add_common_headers(resp);
	*ret = MHD_queue_basic_auth_fail_response(c, HTTPD_REALM, resp);
	MHD_destroy_response(resp);
	return -EACCES;
}

/* A browser on another site must not make us act with the user's cached
 * credentials: an Origin header, when there is one, must name this host. */
static bool same_origin(struct MHD_Connection *c)
{
	const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	const char *rest;

	if (!origin)
		return true;
	if (!host)
		return false;
	if (strncasecmp(origin, "http://", 7) == 0)
		rest = origin + 7;
	else if (strncasecmp(origin, "https://", 8) == 0)
		rest = origin + 8;
	else
		return false;
	return strcasecmp(rest, host) == 0;
}

static enum MHD_Result httpd_on_request(void *cls, struct MHD_Connection *c, const char *url,
					const char *method, const char *version, const char *upload_data,
					size_t *upload_data_size, void **req_cls)
{
	struct httpd_srv *srv = cls;
	struct httpd *h = srv->h;
	struct httpd_request *rq = *req_cls;
	const struct httpd_route *rt;
	httpd_handler_fn fn;
	enum MHD_Result ret;

	(void) version;
	if (!rq) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");

		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*req_cls = rq;
		if (check_auth(h, c, &ret) < 0)
			return ret;
		if (cl && strtoull(cl, NULL, 10) > HTTPD_BODY_MAX)
			return respond_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
		return MHD_YES;
	}

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
	if (fn != rt->get && !same_origin(c))
		return respond_error(c, MHD_HTTP_FORBIDDEN, "cross-origin request refused");
	return fn(h, c, rq);
}

static void httpd_on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			       enum MHD_RequestTerminationCode toe)
{
	struct httpd_request *rq = *req_cls;

	(void) cls;
	(void) c;
	(void) toe;
	if (!rq)
		return;
	free(rq->body);
	free(rq);
	*req_cls = NULL;
}

static void httpd_on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void) cls;
	if (!log_would_log(LOG_DEBUG))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("HTTP: %s", msg);
}

/* ---- instances in the loop -------------------------------------------------------------------- */

static void srv_unlink(struct httpd_srv *srv)
{
	struct httpd *h = srv->h;

	if (h->cur == srv)
		h->cur = NULL;
	for (struct httpd_srv **p = &h->retired; *p; p = &(*p)->next)
		if (*p == srv) {
			*p = srv->next;
			break;
		}
}

/* Never from inside this instance's MHD_run(). */
static void srv_free(struct httpd_srv *srv)
{
	if (!srv)
		return;
	srv_unlink(srv);
	srv->io = sd_event_source_disable_unref(srv->io);
	srv->timer = sd_event_source_disable_unref(srv->timer);
	if (srv->mhd) {
		/* The listener is ours: take it back before MHD would close it. */
		if (!srv->retiring)
			(void) MHD_quiesce_daemon(srv->mhd);
		MHD_stop_daemon(srv->mhd);
	}
	free(srv);
}

static void srv_arm(struct httpd_srv *srv)
{
	MHD_UNSIGNED_LONG_LONG ms;
	uint64_t now = 0, when = UINT64_MAX;

	(void) sd_event_now(srv->h->event, CLOCK_MONOTONIC, &now);
	if (MHD_get_timeout(srv->mhd, &ms) == MHD_YES)
		when = now + (uint64_t) ms * USEC_PER_MSEC;
	if (srv->retiring)
		when = MIN(when, srv->deadline);
	if (when == UINT64_MAX) {
		(void) sd_event_source_set_enabled(srv->timer, SD_EVENT_OFF);
		return;
	}
	(void) sd_event_source_set_time(srv->timer, when);
	(void) sd_event_source_set_enabled(srv->timer, SD_EVENT_ONESHOT);
}

static unsigned srv_connections(struct httpd_srv *srv)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return info ? info->num_connections : 0;
}

/* Run MHD, then either re-arm or, for a retiring instance with nothing left, go. */
static void srv_run(struct httpd_srv *srv)
{
	uint64_t now = 0;
	unsigned before = srv_connections(srv);

	(void) MHD_run(srv->mhd);
	/* At MaxConnections MHD takes the listener out of its epoll set and
	 * puts it back only at the start of a later run: when connections went
	 * away, run once more, or with nothing left to wake us it never would. */
	if (srv_connections(srv) < before)
		(void) MHD_run(srv->mhd);
	if (srv->retiring) {
		(void) sd_event_now(srv->h->event, CLOCK_MONOTONIC, &now);
		if (srv_connections(srv) == 0 || now >= srv->deadline) {
			srv_free(srv);
			return;
		}
	}
	srv_arm(srv);
}

static int httpd_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	(void) s;
	(void) fd;
	(void) revents;
	srv_run(userdata);
	return 0;
}

static int httpd_on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	(void) s;
	(void) usec;
	srv_run(userdata);
	return 0;
}

static int srv_new(struct httpd *h, struct httpd_srv **ret)
{
	_cleanup_free_ struct httpd_srv *srv = calloc(1, sizeof(*srv));
	struct MHD_OptionItem opts[16];
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	size_t n = 0;
	int r;

	if (!srv)
		return -ENOMEM;
	srv->h = h;

#define OPT(o, v, p) opts[n++] = (struct MHD_OptionItem){ (o), (intptr_t) (v), (p) }
	/* First, or MHD writes its earlier messages to stderr itself. */
	OPT(MHD_OPTION_EXTERNAL_LOGGER, (intptr_t) httpd_on_mhd_log, NULL);
	OPT(MHD_OPTION_LISTEN_SOCKET, h->listen_fd, NULL);
	OPT(MHD_OPTION_CONNECTION_LIMIT, h->mat.max_connections, NULL);
	OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, h->mat.max_per_ip, NULL);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, h->mat.timeout_sec, NULL);
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTPD_MEMORY_LIMIT, NULL);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, (intptr_t) httpd_on_completed, srv);
	if (h->mat.cert) {
		flags |= MHD_USE_TLS;
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, h->mat.cert);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, h->mat.key);
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT

	srv->mhd = MHD_start_daemon(flags, 0, NULL, NULL, httpd_on_request, srv, MHD_OPTION_ARRAY, opts,
				    MHD_OPTION_END);
	if (!srv->mhd)
		return log_error_errno(EINVAL, "Cannot start the HTTP server%s",
				       h->mat.cert ? " (check the certificate and key)" : "");

	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	r = info ? sd_event_add_io(h->event, &srv->io, info->epoll_fd, EPOLLIN, httpd_on_io, srv) : -EINVAL;
	if (r >= 0)
		r = sd_event_add_time(h->event, &srv->timer, CLOCK_MONOTONIC, UINT64_MAX, 0, httpd_on_timer,
				      srv);
	if (r < 0) {
		srv->mhd = (MHD_quiesce_daemon(srv->mhd), MHD_stop_daemon(srv->mhd), NULL);
		srv->io = sd_event_source_disable_unref(srv->io);
		srv->timer = sd_event_source_disable_unref(srv->timer);
		return log_error_errno(r, "Cannot watch the HTTP server: %m");
	}
	(void) sd_event_source_set_description(srv->io, "httpd-epoll");
	srv_arm(srv);
	*ret = TAKE_PTR(srv);
	return 0;
}

/* The current instance stops accepting and finishes its requests on its own. */
static void srv_retire(struct httpd_srv *srv)
{
	struct httpd *h = srv->h;
	uint64_t now = 0;

	(void) sd_event_now(h->event, CLOCK_MONOTONIC, &now);
	(void) MHD_quiesce_daemon(srv->mhd);
	srv->retiring = true;
	srv->deadline = now + (uint64_t) (h->mat.timeout_sec + 5) * USEC_PER_SEC;
	h->cur = NULL;
	srv->next = h->retired;
	h->retired = srv;
	srv_arm(srv);
}

/* ---- listener --------------------------------------------------------------------------------- */

static int httpd_bind(struct httpd *h)
{
	return listener_bind("HTTP", h->host, h->cfg_port, HTTPD_BACKLOG, &h->listen_fd);
}

int httpd_new(sd_event *e, const struct httpd_ops *ops, void *userdata, struct httpd **ret)
{
	struct httpd *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->event = sd_event_ref(e);
	h->ops = ops;
	h->userdata = userdata;
	h->listen_fd = -EBADF;
	*ret = h;
	return 0;
}

struct httpd *httpd_free(struct httpd *h)
{
	if (!h)
		return NULL;
	srv_free(h->cur);
	while (h->retired)
		srv_free(h->retired);
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	material_clear(&h->mat);
	sd_event_unref(h->event);
	free(h);
	return NULL;
}

/* Start serving with h->mat on h->listen_fd. */
static int httpd_serve(struct httpd *h)
{
	int r;

	if (h->mat.cert && !MHD_is_feature_supported(MHD_FEATURE_TLS))
		return log_error_errno(EOPNOTSUPP, "HTTPS requested, but libmicrohttpd has no TLS support");
	r = srv_new(h, &h->cur);
	if (r < 0)
		return r;
	log_info("HTTP API on port %u%s, %s", h->port, h->activated ? " (socket activation)" : "",
		 h->mat.cert ? "https" : "http");
	return 0;
}

static void log_no_password(void)
{
	log_error("No HTTP password set ([HTTP] Password= or the password file), the HTTP API is not served");
}

int httpd_start(struct httpd *h, int listen_fd, const struct httpd_settings *s)
{
	int r;

	snprintf(h->host, sizeof(h->host), "%s", s->host ?: "");
	h->cfg_port = s->port;
	if (listen_fd >= 0) {
		r = listener_adopt("HTTP", listen_fd); /* closes it on failure */
		if (r < 0)
			return r;
		h->listen_fd = listen_fd;
		h->activated = true;
		h->port = listener_port(h->listen_fd);
	}

	r = material_load(s, &h->mat);
	if (r < 0)
		return r;
	/* Without a password nothing listens: a bound port nobody answers on
	 * would leave clients hanging. */
	if (!h->mat.password[0]) {
		log_no_password();
		return 0;
	}
	if (!h->activated) {
		r = httpd_bind(h);
		if (r < 0)
			return r;
		h->port = listener_port(h->listen_fd);
	}
	return httpd_serve(h);
}

int httpd_reconfigure(struct httpd *h, const struct httpd_settings *s)
{
	bool moved = strcmp(h->host, s->host ?: "") != 0 || h->cfg_port != s->port;
	struct httpd_material m;
	bool need_bind;
	int r;

	r = material_load(s, &m);
	if (r < 0)
		return r; /* the running server keeps its material */

	if (h->activated && moved)
		log_warning(
		    "[HTTP] Listen changed, but the socket comes from systemd: change the socket unit "
		    "instead, ignoring");
	need_bind = !h->activated && (h->listen_fd < 0 || moved);
	if (!need_bind && h->cur && material_equal(&m, &h->mat)) {
		material_clear(&m);
		return 0;
	}

	if (h->cur)
		srv_retire(h->cur);
	material_clear(&h->mat);
	h->mat = m;

	if (!h->mat.password[0]) {
		/* Retired servers were quiesced: the listener is ours to close. */
		if (!h->activated && h->listen_fd >= 0) {
			close(h->listen_fd);
			h->listen_fd = -EBADF;
		}
		log_no_password();
		return 0;
	}

	if (need_bind) {
		char old_host[sizeof(h->host)];
		uint16_t old_port = h->cfg_port;
		int old_fd = h->listen_fd;

		memcpy(old_host, h->host, sizeof(old_host));
		snprintf(h->host, sizeof(h->host), "%s", s->host ?: "");
		h->cfg_port = s->port;
		r = httpd_bind(h);
		if (r < 0) {
			memcpy(h->host, old_host, sizeof(old_host));
			h->cfg_port = old_port;
			/* Keep serving on the address that works, if there is one. */
			if (old_fd >= 0)
				(void) httpd_serve(h);
			return r;
		}
		if (old_fd >= 0)
			close(old_fd);
		h->port = listener_port(h->listen_fd);
	}
	return httpd_serve(h);
}

bool httpd_serving(const struct httpd *h)
{
	return h && h->cur;
}

uint16_t httpd_port(const struct httpd *h)
{
	return h ? h->port : 0;
}
