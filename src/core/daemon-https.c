/* SPDX-License-Identifier: MIT */
/*
 * The hub's side of HTTPS (see daemon-internal.h): which certificate the
 * HTTPS listener uses (Certificate= and Key=, or the gateway's own in the
 * state directory), the names the own one carries, and its check at start,
 * on every reload and once a day, which renews it with the same key before
 * it expires and makes the server take the new one. The command line's
 * --make-certificate and --show-certificate use the same files and names.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "smartconnectd/base/log.h"
#include "smartconnectd/outputs/https-cert.h"
#include "smartconnectd/outputs/httpd.h"

#include "daemon-internal.h"

#define DAEMON_CERT_CHECK_USEC (24ULL * 3600 * USEC_PER_SEC)
#define CERT_FILE "https-certificate.pem"
#define KEY_FILE "https-key.pem"
/* The name the manual gives for the first visit, whatever [mDNS] Name= says. */
#define MANUAL_NAME "smart-connect.local"

struct cert_names {
	char local[CONFIG_TOKEN_MAX + 8];
	char host[256];
	char net[CONFIG_TOKEN_MAX];
	const char *list[HTTPS_CERT_NAMES_MAX + 1];
	size_t n;
};

/* A name that can stand in a subjectAltName: letters, digits, '-' and '.'. */
static bool name_usable(const char *s)
{
	return *s &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") == strlen(s);
}

static void names_add(struct cert_names *n, const char *name)
{
	if (!name_usable(name) || n->n >= HTTPS_CERT_NAMES_MAX)
		return;
	for (size_t i = 0; i < n->n; i++)
		if (strcasecmp(n->list[i], name) == 0)
			return;
	n->list[n->n++] = name;
	n->list[n->n] = NULL;
}

/* "<mDNS name>.local" first (the subject's name), the manual's name, the
 * host name now and the one [Network] Hostname= asks for, localhost. */
static void cert_names_fill(const struct config *c, struct cert_names *n)
{
	*n = (struct cert_names){};
	snprintf(n->local, sizeof(n->local), "%s.local", c->mdns_name);
	names_add(n, n->local);
	names_add(n, MANUAL_NAME);
	if (gethostname(n->host, sizeof(n->host) - 1) == 0)
		names_add(n, n->host);
	if (strcmp(c->net_hostname, "auto") != 0) {
		snprintf(n->net, sizeof(n->net), "%s", c->net_hostname);
		names_add(n, n->net);
	}
	names_add(n, "localhost");
}

static int cert_paths(const char *state_dir, char **ret_cert, char **ret_key)
{
	if (asprintf(ret_cert, "%s/" CERT_FILE, state_dir) < 0)
		return -ENOMEM;
	if (asprintf(ret_key, "%s/" KEY_FILE, state_dir) < 0) {
		free(*ret_cert);
		return -ENOMEM;
	}
	return 0;
}

static int cert_ensure(const struct config *c, const char *state_dir, const char *cert, const char *key,
		       unsigned days, enum https_cert_action *ret)
{
	struct cert_names n;

	/* systemd's StateDirectory= makes it; without systemd, the first
	 * start may be before anything else wrote there. */
	if (mkdir(state_dir, 0750) < 0 && errno != EEXIST)
		return log_error_errno(errno, "Cannot make the state directory '%s': %m", state_dir);
	cert_names_fill(c, &n);
	return https_cert_ensure(cert, key, n.list, days, (int64_t) time(NULL), ret);
}

int daemon_make_certificate(const struct config *c, const char *state_dir, unsigned days)
{
	_cleanup_free_ char *cert = NULL, *key = NULL;
	enum https_cert_action a;
	int r;

	if (cert_paths(state_dir, &cert, &key) < 0)
		return log_oom();
	r = cert_ensure(c, state_dir, cert, key, days, &a);
	if (r < 0)
		return r;
	printf("HTTPS certificate %s\n", https_cert_action_to_string(a));
	return https_cert_show(cert, stdout);
}

int daemon_show_certificate(const struct config *c, const char *state_dir)
{
	_cleanup_free_ char *cert = NULL, *key = NULL;

	if (c->http_certificate[0])
		return https_cert_show(c->http_certificate, stdout);
	if (cert_paths(state_dir, &cert, &key) < 0)
		return log_oom();
	return https_cert_show(cert, stdout);
}

int daemon_https_init(struct daemon *d)
{
	return cert_paths(d->state_dir, &d->https_cert, &d->https_key);
}

bool daemon_https_own_cert(const struct daemon *d, const struct config *c)
{
	return (c->http_listen_tls.host[0] || d->https_socket) && !c->http_certificate[0];
}

/* The own certificate, when the HTTPS listener uses it: made when missing,
 * renewed when due. Whether it changed. */
bool daemon_https_check(struct daemon *d, const struct config *c)
{
	enum https_cert_action a;
	int64_t until = 0;
	char when[64] = "?";
	struct tm tm;

	if (!daemon_https_own_cert(d, c) ||
	    cert_ensure(c, d->state_dir, d->https_cert, d->https_key, HTTPS_CERT_DAYS, &a) < 0)
		return false;
	if (a == HTTPS_CERT_KEPT || a == HTTPS_CERT_NOT_OURS) {
		if (a == HTTPS_CERT_NOT_OURS)
			log_debug("'%s' is not self-signed by '%s', not renewed here", d->https_cert,
				  d->https_key);
		return false;
	}
	if (https_cert_not_after(d->https_cert, &until) == 0)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC",
			 gmtime_r(&(time_t){ (time_t) until }, &tm));
	log_notice("HTTPS certificate %s: '%s', valid until %s; see smartconnectd --show-certificate",
		   https_cert_action_to_string(a), d->https_cert, when);
	return true;
}

static int daemon_on_cert_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	if (daemon_https_check(d, d->config)) {
		struct httpd_settings hs = daemon_httpd_settings(d, d->config);

		if (httpd_reconfigure(d->httpd, &hs) < 0)
			log_error("The renewed HTTPS certificate could not be loaded, the old one is served");
	}
	(void) sd_event_source_set_time(s, usec + DAEMON_CERT_CHECK_USEC);
	(void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	return 0;
}

int daemon_https_start_timer(struct daemon *d)
{
	uint64_t now = 0;
	int r;

	(void) sd_event_now(d->event, CLOCK_BOOTTIME, &now);
	r = sd_event_add_time(d->event, &d->https_timer, CLOCK_BOOTTIME, now + DAEMON_CERT_CHECK_USEC,
			      USEC_PER_SEC * 60, daemon_on_cert_timer, d);
	if (r < 0)
		return log_error_errno(r, "Cannot start the HTTPS certificate check: %m");
	(void) sd_event_source_set_description(d->https_timer, "https-cert-check");
	return 0;
}
