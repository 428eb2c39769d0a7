/* SPDX-License-Identifier: MIT */
/*
 * The HTTP server (see httpd.h): the daemon-facing object, what an instance
 * is made from, and the libmicrohttpd instances in the sd-event loop.
 *
 * A reconfiguration never stops the instance that is serving the request
 * that caused it: the old instance is quiesced (it stops accepting, the
 * listener stays ours), a new one takes the listener, and the old one is
 * freed from its own event handler once its connections are gone.
 *
 * Up to two listeners, each with its current instance: the plain one and,
 * beside it, the HTTPS one; a reconfiguration that changes anything replaces
 * both instances, which share the material (password, certificate, limits).
 *
 * Not here: the plain listener's redirect to HTTPS (httpd-tls.c),
 * authentication (httpd-auth.c), the routes and responses
 * (httpd-routes.c), what the answers contain (struct httpd_ops, given by the
 * daemon).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "smartconnectd/base/file.h"
#include "smartconnectd/base/log.h"
#include "smartconnectd/net/listener.h"
#include "smartconnectd/outputs/httpd.h"

#include "httpd-internal.h"

#define HTTPD_BACKLOG 64
#define HTTPD_FILE_MAX (64 * 1024)
/* GnuTLS priorities of the HTTPS listener: its defaults, but only TLS 1.2 and 1.3. */
#define HTTPD_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

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

/* The password from the first line of path into m; logs why not. */
static void material_load_password(const char *path, struct httpd_material *m)
{
	_cleanup_free_ char *text = NULL;
	int r;

	r = file_read_regular(path, HTTPD_FILE_MAX, &text, NULL);
	if (r == -ENOENT)
		return;
	if (r < 0) {
		log_error("Cannot read the HTTP password file '%s': %s", path, file_error_to_string(r));
		return;
	}
	text[strcspn(text, "\r\n")] = '\0';
	if (strlen(text) >= sizeof(m->password))
		log_error("HTTP password file '%s': the password is longer than %d characters", path,
			  HTTPD_PASSWORD_MAX - 1);
	else
		snprintf(m->password, sizeof(m->password), "%s", text);
	OPENSSL_cleanse(text, strlen(text));
}

/* One PEM file of the HTTPS settings; logs why not. */
static int material_load_pem(const char *what, const char *path, char **ret)
{
	int r;

	r = file_read_regular(path, HTTPD_FILE_MAX, ret, NULL);
	if (r < 0)
		log_error("Cannot read the HTTPS %s '%s': %s", what, path, file_error_to_string(r));
	return r;
}

/* Build the material from the settings; logs what it cannot read. A missing
 * password is not an error here: the caller decides. Every file is read with
 * file_read_regular(): a FIFO or a tty named here would stop the loop. */
static int material_load(const struct httpd_settings *s, struct httpd_material *m)
{
	int r;

	*m = (struct httpd_material){
		.max_connections = s->max_connections,
		.max_per_ip = s->max_per_ip,
		.timeout_sec = s->timeout_sec,
	};
	snprintf(m->user, sizeof(m->user), "%s", s->user);

	if (s->password && *s->password)
		snprintf(m->password, sizeof(m->password), "%s", s->password);
	else if (s->password_file && *s->password_file)
		material_load_password(s->password_file, m);

	if (s->certificate && *s->certificate) {
		r = material_load_pem("certificate", s->certificate, &m->cert);
		if (r >= 0)
			r = material_load_pem("key", s->key, &m->key);
		if (r < 0) {
			free(m->cert);
			m->cert = NULL;
			return r; /* the rest of m stays: the caller clears it */
		}
	}
	return 0;
}

void httpd_log_mhd(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	if (!log_would_log(LOG_DEBUG))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("%s: %s", (const char *) cls, msg);
}
/* ---- GnuTLS's global state: held while an HTTPS instance runs --------------------------------- */

/* Looked up at run time: the build needs no GnuTLS headers, and a
 * libmicrohttpd without TLS brings no GnuTLS. POSIX: a function's address
 * from dlsym() converts to its pointer type. */
static void *tls_library_fn(const char *name)
{
	return dlsym(RTLD_DEFAULT, name);
}

static int tls_library_ref(void)
{
	void *p = tls_library_fn("gnutls_global_init");
	int (*init)(void);

	if (!p)
		return 0; /* no GnuTLS: libmicrohttpd refuses TLS on its own */
	memcpy(&init, &p, sizeof(p));
	return init() < 0 ? -EIO : 0;
}

static void tls_library_unref(void)
{
	void *p = tls_library_fn("gnutls_global_deinit");
	void (*deinit)(void);

	if (!p)
		return;
	memcpy(&deinit, &p, sizeof(p));
	deinit();
}

void httpd_tls_library_release(void)
{
	/* Its own reference and libmicrohttpd's. Below zero it does nothing: a
	 * GnuTLS that did not initialise itself (GNUTLS_NO_IMPLICIT_INIT=1) loses
	 * nothing, and the library's destructors at exit are harmless. */
	tls_library_unref();
	tls_library_unref();
}

/* ---- instances in the loop -------------------------------------------------------------------- */

#define HTTPD_OPTIONS_MAX 16

static void srv_unlink(struct httpd_srv *srv)
{
	struct httpd *h = srv->h;

	if (srv->ep->cur == srv)
		srv->ep->cur = NULL;
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
	/* Live streams get the end of their body rather than a cut: a run
	 * resumes them, the next sends what the first could not. */
	if (srv->mhd && httpd_live_end(srv->h, srv) > 0) {
		(void) MHD_run(srv->mhd);
		(void) MHD_run(srv->mhd);
	}
	srv->io = sd_event_source_disable_unref(srv->io);
	srv->timer = sd_event_source_disable_unref(srv->timer);
	if (srv->mhd) {
		/* The listener is ours: take it back before MHD would close it. */
		if (!srv->retiring)
			(void) MHD_quiesce_daemon(srv->mhd);
		MHD_stop_daemon(srv->mhd);
	}
	if (srv->tls_ref)
		tls_library_unref();
	free(srv);
}

/* The timer at when (UINT64_MAX: nothing to wait for). Each run re-arms it,
 * mostly to what it was, and sd-event is asked only for a change: each call
 * is a queue update. With nothing to wait for the timer is left as it is,
 * not turned off: at worst it fires once for nothing, where turning it off
 * and on again would cost two updates per request. */
static void srv_timer_set(struct httpd_srv *srv, uint64_t when)
{
	int enabled = SD_EVENT_OFF;
	uint64_t armed = 0;

	if (when == UINT64_MAX)
		return;
	(void) sd_event_source_get_enabled(srv->timer, &enabled);
	if (enabled == SD_EVENT_ONESHOT && sd_event_source_get_time(srv->timer, &armed) >= 0 && armed == when)
		return;
	(void) sd_event_source_set_time(srv->timer, when);
	if (enabled != SD_EVENT_ONESHOT)
		(void) sd_event_source_set_enabled(srv->timer, SD_EVENT_ONESHOT);
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
	if (srv->kicked)
		when = now;
	when = MIN(when, httpd_conn_sweep(srv, now));
	srv_timer_set(srv, when);
}

void httpd_srv_kick(struct httpd_srv *srv)
{
	srv->kicked = true;
	srv_arm(srv);
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
	unsigned before;

	/* Late requests first: what is shut down now is closed by this run. */
	(void) sd_event_now(srv->h->event, CLOCK_MONOTONIC, &now);
	(void) httpd_conn_sweep(srv, now);
	before = srv_connections(srv);
	/* A kick during this run (a resume) asks for the next one. */
	srv->kicked = false;
	(void) MHD_run(srv->mhd);
	/* At MaxConnections MHD takes the listener out of its epoll set and
	 * puts it back only at the start of a later run: when connections went
	 * away, run once more, or with nothing left to wake us it never would. */
	if (srv_connections(srv) < before)
		(void) MHD_run(srv->mhd);
	if (srv->retiring) {
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

/* The options of an instance of ep; returns the flags. */
static unsigned srv_options(struct httpd *h, struct httpd_endpoint *ep, struct httpd_srv *srv,
			    struct MHD_OptionItem opts[static HTTPD_OPTIONS_MAX])
{
	/* Suspend and resume: live streams wait for events without busy calls. */
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	size_t n = 0;

#define OPT(o, v, p) opts[n++] = (struct MHD_OptionItem){ (o), (intptr_t) (v), (p) }
	/* First, or MHD writes its earlier messages to stderr itself. */
	OPT(MHD_OPTION_EXTERNAL_LOGGER, (intptr_t) httpd_log_mhd, (void *) (uintptr_t) "HTTP");
	OPT(MHD_OPTION_LISTEN_SOCKET, ep->listen_fd, NULL);
	/* One more than the setting: the spare connection takes the place of
	 * the one that has waited longest (httpd-conn.c). */
	OPT(MHD_OPTION_CONNECTION_LIMIT, h->mat.max_connections + 1, NULL);
	OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, h->mat.max_per_ip, NULL);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, h->mat.timeout_sec, NULL);
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTPD_MEMORY_LIMIT, NULL);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, (intptr_t) httpd_routes_on_completed, srv);
	OPT(MHD_OPTION_NOTIFY_CONNECTION, (intptr_t) httpd_conn_on_notify, srv);
	OPT(MHD_OPTION_URI_LOG_CALLBACK, (intptr_t) httpd_conn_on_uri, srv);
	if (ep->tls) {
		flags |= MHD_USE_TLS;
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, h->mat.cert);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, h->mat.key);
		/* MHD only reads the string; the option item has no const. */
		OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, (void *) (uintptr_t) HTTPD_TLS_PRIORITIES);
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	return flags;
}

/* Stop what srv_new() started, for its error paths. */
static void srv_abort(struct httpd_srv *srv)
{
	if (srv->mhd)
		srv->mhd = (MHD_quiesce_daemon(srv->mhd), MHD_stop_daemon(srv->mhd), NULL);
	srv->io = sd_event_source_disable_unref(srv->io);
	srv->timer = sd_event_source_disable_unref(srv->timer);
	if (srv->tls_ref)
		tls_library_unref();
	srv->tls_ref = false;
}

static int srv_new(struct httpd *h, struct httpd_endpoint *ep, struct httpd_srv **ret)
{
	_cleanup_free_ struct httpd_srv *srv = calloc(1, sizeof(*srv));
	struct MHD_OptionItem opts[HTTPD_OPTIONS_MAX];
	const union MHD_DaemonInfo *info;
	unsigned flags;
	int r;

	if (!srv)
		return -ENOMEM;
	srv->h = h;
	srv->ep = ep;
	flags = srv_options(h, ep, srv, opts);
	if (ep->tls) {
		r = tls_library_ref();
		if (r < 0)
			return log_error_errno(
			    r, "Cannot start the HTTPS server: the TLS library does not initialise");
		srv->tls_ref = true;
	}

	srv->mhd = MHD_start_daemon(flags, 0, NULL, NULL, httpd_routes_on_request, srv, MHD_OPTION_ARRAY,
				    opts, MHD_OPTION_END);
	if (!srv->mhd) {
		srv_abort(srv);
		return log_error_errno(EINVAL, "Cannot start the HTTP server%s",
				       ep->tls ? " (check the certificate and key)" : "");
	}

	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	r = info ? sd_event_add_io(h->event, &srv->io, info->epoll_fd, EPOLLIN, httpd_on_io, srv) : -EINVAL;
	if (r >= 0)
		r = sd_event_add_time(h->event, &srv->timer, CLOCK_MONOTONIC, UINT64_MAX, 0, httpd_on_timer,
				      srv);
	if (r < 0) {
		srv_abort(srv);
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
	(void) httpd_live_end(h, srv);
	srv->retiring = true;
	srv->deadline = now + (uint64_t) (h->mat.timeout_sec + 5) * USEC_PER_SEC;
	srv->ep->cur = NULL;
	srv->next = h->retired;
	h->retired = srv;
	srv_arm(srv);
}

/* ---- listeners -------------------------------------------------------------------------------- */

static const char *const ep_names[_HTTPD_EP_MAX] = { "HTTP", "HTTPS" };

int httpd_new(sd_event *e, const struct httpd_ops *ops, void *userdata, struct httpd **ret)
{
	struct httpd *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->event = sd_event_ref(e);
	h->ops = ops;
	h->userdata = userdata;
	for (size_t i = 0; i < _HTTPD_EP_MAX; i++)
		h->ep[i].listen_fd = -EBADF;
	*ret = h;
	return 0;
}

static void ep_close(struct httpd_endpoint *ep)
{
	if (ep->listen_fd >= 0)
		close(ep->listen_fd);
	ep->listen_fd = -EBADF;
}

struct httpd *httpd_free(struct httpd *h)
{
	if (!h)
		return NULL;
	for (size_t i = 0; i < _HTTPD_EP_MAX; i++)
		srv_free(h->ep[i].cur);
	while (h->retired)
		srv_free(h->retired);
	for (size_t i = 0; i < _HTTPD_EP_MAX; i++)
		ep_close(&h->ep[i]);
	material_clear(&h->mat);
	h->live_timer = sd_event_source_disable_unref(h->live_timer);
	sd_event_unref(h->event);
	free(h);
	return NULL;
}

/* Which listeners there are and which speaks TLS: with a second listener the
 * first stays plain; without one, a certificate makes the first HTTPS. */
static void httpd_set_modes(struct httpd *h, const struct httpd_settings *s)
{
	struct httpd_endpoint *tls = &h->ep[HTTPD_EP_TLS];

	h->dual = s->tls_listen || tls->activated;
	h->require_tls = s->require_tls;
	h->ep[HTTPD_EP_PLAIN].enabled = true;
	h->ep[HTTPD_EP_PLAIN].tls = !h->dual && h->mat.cert;
	tls->enabled = h->dual;
	tls->tls = true;
}

/* Start serving with h->mat on ep->listen_fd. */
static int httpd_serve(struct httpd *h, struct httpd_endpoint *ep)
{
	int r;

	if (ep->tls && !h->mat.cert)
		return log_error_errno(ENOKEY, "HTTPS listener without a certificate, not served");
	if (ep->tls && !MHD_is_feature_supported(MHD_FEATURE_TLS))
		return log_error_errno(EOPNOTSUPP, "HTTPS requested, but libmicrohttpd has no TLS support");
	r = srv_new(h, ep, &ep->cur);
	if (r < 0)
		return r;
	log_info("HTTP API on port %u%s, %s", ep->port, ep->activated ? " (socket activation)" : "",
		 ep->tls ? "https" : "http");
	return 0;
}

static void ep_settings(const struct httpd_settings *s, size_t i, const char **ret_host, uint16_t *ret_port)
{
	*ret_host = (i == HTTPD_EP_TLS ? s->tls_host : s->host) ?: "";
	*ret_port = i == HTTPD_EP_TLS ? s->tls_port : s->port;
}

/* Bind ep to host:port; on failure ep keeps its old address and socket. */
static int ep_bind(struct httpd_endpoint *ep, const char *name, const char *host, uint16_t port)
{
	int fd = -EBADF, r;

	r = listener_bind(name, host, port, HTTPD_BACKLOG, &fd);
	if (r < 0)
		return r;
	ep_close(ep);
	ep->listen_fd = fd;
	snprintf(ep->host, sizeof(ep->host), "%s", host);
	ep->cfg_port = port;
	ep->port = listener_port(fd);
	return 0;
}

static void log_no_password(void)
{
	log_error("No HTTP password set ([HTTP] Password= or the password file), the HTTP API is not served");
}

/* The Host names besides the gateway's own and whether /metrics needs
 * credentials: applied to the running instance, they need no new one. */
static void httpd_apply_live(struct httpd *h, const struct httpd_settings *s)
{
	h->metrics_auth = s->metrics_auth;
	h->max_live = s->max_live_clients;
	h->session_idle_usec = (uint64_t) MAX(s->session_idle_sec, 1u) * USEC_PER_SEC;
	if (httpd_host_set(h, s->local_name, s->allowed_hosts) < 0)
		log_error("[HTTP] AllowedHosts= is too long, only this gateway's own names are accepted");
}

static int ep_adopt(struct httpd_endpoint *ep, const char *name, int fd)
{
	int r;

	if (fd < 0)
		return 0;
	r = listener_adopt(name, fd); /* closes it on failure */
	if (r < 0)
		return r;
	ep->listen_fd = fd;
	ep->activated = true;
	ep->port = listener_port(fd);
	return 0;
}

int httpd_start(struct httpd *h, int listen_fd, int tls_fd, const struct httpd_settings *s)
{
	int r, q;

	q = ep_adopt(&h->ep[HTTPD_EP_TLS], "HTTPS", tls_fd);
	r = ep_adopt(&h->ep[HTTPD_EP_PLAIN], "HTTP", listen_fd);
	if (r < 0 || q < 0)
		return r < 0 ? r : q;
	httpd_apply_live(h, s);
	r = material_load(s, &h->mat);
	httpd_set_modes(h, s);
	if (r < 0 && !h->dual) {
		/* Not plain HTTP instead: the password would cross the network in clear. */
		log_error("The HTTPS certificate or key cannot be read, the HTTP API is not served");
		material_clear(&h->mat);
		return 0;
	}
	if (r < 0)
		log_error("The HTTPS certificate or key cannot be read, only plain HTTP is served");
	/* Without a password nothing listens: a bound port nobody answers on
	 * would leave clients hanging. */
	if (!h->mat.password[0]) {
		log_no_password();
		return 0;
	}
	for (size_t i = 0; i < _HTTPD_EP_MAX; i++) {
		struct httpd_endpoint *ep = &h->ep[i];
		const char *host;
		uint16_t port;

		ep_settings(s, i, &host, &port);
		snprintf(ep->host, sizeof(ep->host), "%s", host);
		ep->cfg_port = port;
		if (!ep->enabled || (ep->tls && !h->mat.cert))
			continue;
		if (!ep->activated && (r = ep_bind(ep, ep_names[i], host, port)) < 0)
			return r;
		r = httpd_serve(h, ep);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Whether ep needs a new socket for s: never one from systemd. */
static bool ep_moved(const struct httpd_endpoint *ep, const struct httpd_settings *s, size_t i)
{
	const char *host;
	uint16_t port;
	bool moved;

	ep_settings(s, i, &host, &port);
	moved = strcmp(ep->host, host) != 0 || ep->cfg_port != port;
	if (ep->activated)
		return false;
	return ep->listen_fd < 0 || moved;
}

/* After the instances retired: ep gets the socket s asks for, and serves. */
static int ep_apply(struct httpd *h, size_t i, const struct httpd_settings *s)
{
	struct httpd_endpoint *ep = &h->ep[i];
	const char *host;
	uint16_t port;
	int r;

	if (!ep->enabled || !h->mat.password[0] || (ep->tls && !h->mat.cert)) {
		/* Retired servers were quiesced: the listener is ours to close. */
		if (!ep->activated)
			ep_close(ep);
		return 0;
	}
	ep_settings(s, i, &host, &port);
	if (ep->activated && (strcmp(ep->host, host) != 0 || ep->cfg_port != port))
		log_warning("[HTTP] %s changed, but the socket comes from systemd: change the socket unit "
			    "instead, ignoring",
			    i == HTTPD_EP_TLS ? "ListenTLS" : "Listen");
	if (ep_moved(ep, s, i)) {
		r = ep_bind(ep, ep_names[i], host, port);
		/* Keep serving on the address that works, if there is one. */
		if (r < 0)
			return ep->listen_fd >= 0 ? (httpd_serve(h, ep), r) : r;
	}
	return httpd_serve(h, ep);
}

static bool httpd_unchanged(const struct httpd *h, const struct httpd_material *m,
			    const struct httpd_settings *s)
{
	if (!material_equal(m, &h->mat) || (s->tls_listen || h->ep[HTTPD_EP_TLS].activated) != h->dual)
		return false;
	for (size_t i = 0; i < _HTTPD_EP_MAX; i++)
		if (h->ep[i].enabled && (!h->ep[i].cur || ep_moved(&h->ep[i], s, i)))
			return false;
	return true;
}

int httpd_reconfigure(struct httpd *h, const struct httpd_settings *s)
{
	struct httpd_material m;
	int r, q;

	httpd_apply_live(h, s);
	h->require_tls = s->require_tls;
	r = material_load(s, &m);
	if (r < 0) {
		material_clear(&m);
		return r; /* the running server keeps its material */
	}
	if (httpd_unchanged(h, &m, s)) {
		material_clear(&m);
		return 0;
	}
	for (size_t i = 0; i < _HTTPD_EP_MAX; i++)
		if (h->ep[i].cur)
			srv_retire(h->ep[i].cur);
	/* A new user or password: whoever signed in with the old one signs in again. */
	if (strcmp(m.user, h->mat.user) != 0 || strcmp(m.password, h->mat.password) != 0)
		httpd_session_end(h);
	material_clear(&h->mat);
	h->mat = m;
	httpd_set_modes(h, s);
	if (!h->mat.password[0])
		log_no_password();
	q = ep_apply(h, HTTPD_EP_TLS, s);
	r = ep_apply(h, HTTPD_EP_PLAIN, s);
	return r < 0 ? r : q;
}

bool httpd_serving(const struct httpd *h)
{
	return h && h->ep[HTTPD_EP_PLAIN].cur;
}

const struct httpd_counters *httpd_counters(const struct httpd *h)
{
	return h ? &h->counters : NULL;
}

uint16_t httpd_port(const struct httpd *h)
{
	return h ? h->ep[HTTPD_EP_PLAIN].port : 0;
}
