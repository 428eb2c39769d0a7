/* SPDX-License-Identifier: MIT */
/*
 * TLS for the MQTT connection (private to mqtt.c): our own OpenSSL context,
 * which checks the broker's certificate against the configured host name
 * (libmosquitto would check it against the numeric address it connects to)
 * and sends that name as SNI.
 */
#include <mosquitto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>

#include "smartconnectd/net/resolve.h"

#include "mqtt-tls.h"

#define SYSTEM_CA_PATH "/etc/ssl/certs"

/* SNI: libmosquitto names the numeric address it connected to; the broker's
 * configured name goes in before the ClientHello is written. */
static void tls_on_info(const SSL *ssl, int where, int ret)
{
	SSL_CTX *ctx = SSL_get_SSL_CTX(ssl);
	const char *host = SSL_CTX_get_app_data(ctx);

	(void) ret;
	if (where & SSL_CB_HANDSHAKE_START && host)
		(void) SSL_set_tlsext_host_name((SSL *) ssl, host);
}

static void tls_error(char *buf, size_t size, const char *what, const char *path)
{
	unsigned long e = ERR_get_error();
	char reason[160];

	ERR_error_string_n(e, reason, sizeof(reason));
	if (snprintf(buf, size, "%s '%s': %s", what, path, e ? reason : "failed") < 0)
		buf[0] = '\0';
	ERR_clear_error();
}

/* Our own context: libmosquitto would check the certificate against the
 * address it connects to, we check it against the configured host name. */
static SSL_CTX *tls_ctx(const struct mqtt_settings *s, char *err, size_t errsz)
{
	const char *host = s->broker.host;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	X509_VERIFY_PARAM *param;

	if (!ctx) {
		snprintf(err, errsz, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (s->ca_file[0] || s->ca_path[0]) {
		if (SSL_CTX_load_verify_locations(ctx, s->ca_file[0] ? s->ca_file : NULL,
						  s->ca_path[0] ? s->ca_path : NULL) != 1) {
			tls_error(err, errsz, "cannot load the CA certificates",
				  s->ca_file[0] ? s->ca_file : s->ca_path);
			goto fail;
		}
	} else if (SSL_CTX_load_verify_locations(ctx, NULL, SYSTEM_CA_PATH) != 1) {
		tls_error(err, errsz, "cannot load the system CA certificates", SYSTEM_CA_PATH);
		goto fail;
	}

	/* Mutual TLS: the client certificate, when there is no user name. */
	if (!s->username[0] && s->cert_file[0]) {
		if (SSL_CTX_use_certificate_chain_file(ctx, s->cert_file) != 1) {
			tls_error(err, errsz, "cannot load the client certificate", s->cert_file);
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, s->key_file, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			tls_error(err, errsz, "cannot use the client key", s->key_file);
			goto fail;
		}
	}

	param = SSL_CTX_get0_param(ctx);
	if (resolve_is_numeric(host)) {
		if (X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1)
			goto fail_host;
	} else {
		X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (X509_VERIFY_PARAM_set1_host(param, host, 0) != 1)
			goto fail_host;
		/* The string lives in the publisher's settings, which outlive every
		 * connection and so every context (mqtt_tls_setup). */
		SSL_CTX_set_app_data(ctx, (void *) host);
		SSL_CTX_set_info_callback(ctx, tls_on_info);
	}
	return ctx;

fail_host:
	snprintf(err, errsz, "cannot set the host name to verify");
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int mqtt_tls_setup(struct mosquitto *mosq, const struct mqtt_settings *s, char *err, size_t errsz)
{
	SSL_CTX *ctx = tls_ctx(s, err, errsz);
	int rc;

	if (!ctx)
		return -EINVAL;
	/* Without defaults the library leaves our context as it is. */
	rc = mosquitto_int_option(mosq, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_void_option(mosq, MOSQ_OPT_SSL_CTX, ctx);
	SSL_CTX_free(ctx); /* the library holds its own reference */
	if (rc != MOSQ_ERR_SUCCESS) {
		snprintf(err, errsz, "%s", mosquitto_strerror(rc));
		return -EINVAL;
	}
	return 0;
}

bool mqtt_tls_handshaking(struct mosquitto *mosq)
{
	SSL *ssl = mosquitto_ssl_get(mosq);

	return ssl && !SSL_is_init_finished(ssl);
}
