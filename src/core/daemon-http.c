/* SPDX-License-Identifier: MIT */
/*
 * The hub's side of the HTTP API (see daemon-internal.h): its settings from
 * the configuration, the operations the server calls back for each endpoint,
 * and its start with the live streams and the HomeWizard-compatible API.
 */
#include <errno.h>

#include "config.h"
#include "smartconnectd/base/log.h"
#include "smartconnectd/outputs/httpd.h"
#include "smartconnectd/outputs/modbus-server.h"
#include "smartconnectd/outputs/modbus-view.h"

#include "daemon-internal.h"

struct httpd_settings daemon_httpd_settings(const struct daemon *d, const struct config *c)
{
	return (struct httpd_settings){
		.host = c->http_listen.host,
		.port = c->http_listen.port,
		.user = c->http_user,
		.password = c->http_password,
		.password_file = c->http_password_file[0] ? c->http_password_file : d->password_file,
		.certificate = daemon_https_own_cert(d, c) ? d->https_cert : c->http_certificate,
		.key = daemon_https_own_cert(d, c) ? d->https_key : c->http_key,
		.tls_listen = c->http_listen_tls.host[0] != '\0',
		.tls_host = c->http_listen_tls.host,
		.tls_port = c->http_listen_tls.port,
		.require_tls = c->http_require_tls,
		.max_connections = c->http_max_connections,
		.max_per_ip = c->http_max_per_ip,
		.timeout_sec = c->http_timeout_sec,
		.local_name = c->mdns_name,
		.allowed_hosts = c->http_allowed_hosts,
		.metrics_auth = c->http_metrics_auth,
		.max_live_clients = c->http_max_live_clients,
		.session_idle_sec = c->http_session_idle_sec,
	};
}

static json_t *daemon_on_http_status(void *userdata)
{
	return daemon_status_json(userdata);
}

static int daemon_on_http_status_text(void *userdata, char *buf, size_t size)
{
	return daemon_status_text(userdata, buf, size);
}

static json_t *daemon_on_http_config(void *userdata)
{
	return daemon_config_json(userdata);
}

static int daemon_on_http_patch(void *userdata, const char *body, size_t len, json_t **ret_error)
{
	return daemon_patch_config(userdata, body, len, ret_error);
}

static int daemon_on_http_telegram(void *userdata, const char **ret_text, size_t *ret_len)
{
	return daemon_last_telegram(userdata, ret_text, ret_len);
}

static int daemon_on_http_reset(void *userdata)
{
	return daemon_soft_reset(userdata);
}

static int daemon_on_http_network(void *userdata, const char *action, json_t **ret)
{
	return daemon_network_request(userdata, action, ret);
}

static json_t *daemon_on_http_firmware(void *userdata)
{
	return daemon_firmware_json(userdata);
}

static int daemon_on_http_firmware_update(void *userdata, const char *body, size_t len, json_t **ret)
{
	return daemon_firmware_request(userdata, body, len, ret);
}

static char *daemon_on_http_metrics(void *userdata)
{
	return daemon_metrics_text(userdata);
}

/* What a Modbus client would read now, from the TCP server's own image. */
static int daemon_on_http_modbus(void *userdata, json_t **ret)
{
	struct daemon *d = userdata;
	struct modbus_server_image img;

	if (!d->modbus_server)
		return -ENODEV;
	modbus_server_image(d->modbus_server, &img);
	*ret = modbus_view_json(&(struct modbus_view_image){
	    .template = img.template,
	    .input = img.input,
	    .holding = img.holding,
	    .port = modbus_server_port(d->modbus_server),
	    .stale_policy = modbus_server_stale_policy_to_string(img.stale_policy),
	    .stale = img.stale,
	    .refused = img.refused,
	});
	return *ret ? 0 : -ENOMEM;
}

static const struct httpd_ops daemon_httpd_ops = {
	.status = daemon_on_http_status,
	.status_text = daemon_on_http_status_text,
	.config = daemon_on_http_config,
	.patch_config = daemon_on_http_patch,
	.telegram = daemon_on_http_telegram,
	.reset = daemon_on_http_reset,
	.identify = daemon_on_http_identify,
	.factory_reset = daemon_on_http_factory_reset,
	.network = daemon_on_http_network,
	.firmware = daemon_on_http_firmware,
	.firmware_update = daemon_on_http_firmware_update,
	.metrics = daemon_on_http_metrics,
	.history = daemon_on_http_history,
	.modbus = daemon_on_http_modbus,
	.version = PACKAGE_VERSION,
};

/* The HTTP API and what its live streams are fed, and the HomeWizard-
 * compatible API; without a password the main API logs why and stays off. */
int daemon_start_httpd(struct daemon *d)
{
	struct httpd_settings hs;
	int r;

	r = httpd_new(d->event, &daemon_httpd_ops, d, &d->httpd);
	if (r < 0)
		return log_oom();
	d->https_socket = d->fds.https >= 0;
	(void) daemon_https_check(d, d->config);
	hs = daemon_httpd_settings(d, d->config);
	r = httpd_start(d->httpd, d->fds.http, d->fds.https, &hs);
	d->fds.http = d->fds.https = -1; /* taken over, also on failure */
	if (r < 0 || (r = daemon_https_start_timer(d)) < 0)
		return r;
	(void) daemon_apply_homewizard(d); /* off after trouble, logged: the rest runs */
	return daemon_live_start(d);
}
