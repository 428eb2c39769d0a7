/* SPDX-License-Identifier: MIT */
/*
 * TLS for the MQTT connection (private to mqtt.c): our own OpenSSL context,
 * which checks the broker's certificate against the configured host name
 * (libmosquitto would check it against the numeric address it connects to)
 * and sends that name as SNI. CAFile, CertFile and KeyFile are read here,
 * non-blocking and bounded, and handed to OpenSSL from memory: its own file
 * loading would wait for ever on a FIFO or an idle terminal, and the loop
 * with it.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <mosquitto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smartconnectd/base/file.h"
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

/* No pass phrase: without this callback OpenSSL would ask for one on the
 * terminal, and wait. */
static int tls_no_passphrase(char *buf, int size, int rwflag, void *userdata)
{
	(void) buf;
	(void) size;
	(void) rwflag;
	(void) userdata;
	return 0;
}

/* A file a setting names, as a memory BIO: read here, without ever waiting
 * (regular files of bounded size only), because OpenSSL's own file loading
 * blocks on a FIFO or a terminal. *ret_text backs the BIO and is freed by the
 * caller after it (cleansed: it may hold a key). */
static BIO *tls_read(const char *what, const char *path, char **ret_text, char *err, size_t errsz)
{
	size_t len = 0;
	BIO *bio;
	int r = file_read_regular(path, FILE_SETTING_MAX, ret_text, &len);

	if (r < 0) {
		snprintf(err, errsz, "%s '%s': %s", what, path, file_error_to_string(r));
		return NULL;
	}
	bio = BIO_new_mem_buf(*ret_text, (int) len);
	if (!bio)
		snprintf(err, errsz, "%s '%s': out of memory", what, path);
	return bio;
}

static void tls_text_free(char *text)
{
	if (text)
		OPENSSL_cleanse(text, strlen(text));
	free(text);
}

/* Every certificate (and CRL) of a PEM file into the context's trust store. */
static int tls_load_ca_file(SSL_CTX *ctx, const char *path, char *err, size_t errsz)
{
	const char *what = "cannot load the CA certificates";
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	STACK_OF(X509_INFO) *infos = NULL;
	char *text = NULL;
	BIO *bio = tls_read(what, path, &text, err, errsz);
	int n = 0;

	if (bio)
		infos = PEM_X509_INFO_read_bio(bio, NULL, tls_no_passphrase, NULL);
	for (int i = 0; infos && i < sk_X509_INFO_num(infos); i++) {
		X509_INFO *xi = sk_X509_INFO_value(infos, i);

		if (xi->x509 && X509_STORE_add_cert(store, xi->x509) == 1)
			n++;
		if (xi->crl)
			(void) X509_STORE_add_crl(store, xi->crl);
	}
	if (bio && n == 0)
		tls_error(err, errsz, what, path);
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	BIO_free(bio);
	tls_text_free(text);
	return n > 0 ? 0 : -EINVAL;
}

/* Is name one OpenSSL looks up in a hashed directory ("5ad8a5d6.0", ".r0")? */
static bool tls_hashed_name(const char *name)
{
	size_t i = 0;

	while (i < 8 && isxdigit((unsigned char) name[i]))
		i++;
	if (i != 8 || name[i++] != '.')
		return false;
	if (name[i] == 'r')
		i++;
	return name[i] && strspn(name + i, "0123456789") == strlen(name + i);
}

/* OpenSSL opens CAPath's files itself, lazily, during a handshake, with
 * blocking opens. Each file it could open must be a regular file (through
 * its symlink) now; one swapped for a FIFO after this check would still
 * block the handshake, a risk the manual states. */
static int tls_check_ca_path(const char *path, char *err, size_t errsz)
{
	DIR *dir = opendir(path); /* O_DIRECTORY | O_NONBLOCK: never waits */
	struct dirent *de;
	char file[PATH_MAX];
	int r = 0;

	if (!dir) {
		snprintf(err, errsz, "cannot load the CA certificates '%s': %s", path, strerror(errno));
		return -EINVAL;
	}
	while (r >= 0 && (de = readdir(dir))) {
		if (!tls_hashed_name(de->d_name))
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
		r = file_open_regular(file, FILE_SETTING_MAX);
		if (r < 0)
			snprintf(err, errsz, "cannot use the CA directory '%s': '%s': %s", path, de->d_name,
				 file_error_to_string(r));
		else
			close(r);
	}
	closedir(dir);
	return r < 0 ? -EINVAL : 0;
}

static int tls_load_cas(SSL_CTX *ctx, const struct mqtt_settings *s, char *err, size_t errsz)
{
	if (!s->ca_file[0] && !s->ca_path[0]) {
		/* The system's directory, root's to change: read lazily as it is. */
		if (SSL_CTX_load_verify_locations(ctx, NULL, SYSTEM_CA_PATH) == 1)
			return 0;
		tls_error(err, errsz, "cannot load the system CA certificates", SYSTEM_CA_PATH);
		return -EINVAL;
	}
	if (s->ca_file[0] && tls_load_ca_file(ctx, s->ca_file, err, errsz) < 0)
		return -EINVAL;
	if (s->ca_path[0]) {
		if (tls_check_ca_path(s->ca_path, err, errsz) < 0)
			return -EINVAL;
		if (SSL_CTX_load_verify_locations(ctx, NULL, s->ca_path) != 1) {
			tls_error(err, errsz, "cannot load the CA certificates", s->ca_path);
			return -EINVAL;
		}
	}
	return 0;
}

/* The client certificate, then the rest of its chain, from one PEM file. */
static int tls_load_cert(SSL_CTX *ctx, const char *path, char *err, size_t errsz)
{
	const char *what = "cannot load the client certificate";
	char *text = NULL;
	BIO *bio = tls_read(what, path, &text, err, errsz);
	X509 *x = bio ? PEM_read_bio_X509_AUX(bio, NULL, tls_no_passphrase, NULL) : NULL;
	bool ok = x && SSL_CTX_use_certificate(ctx, x) == 1;

	X509_free(x);
	if (bio && !ok)
		tls_error(err, errsz, what, path);
	while (ok && (x = PEM_read_bio_X509(bio, NULL, tls_no_passphrase, NULL)))
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			X509_free(x);
			tls_error(err, errsz, what, path);
			ok = false;
		}
	if (ok)
		ERR_clear_error(); /* the end of the file reads as "no start line" */
	BIO_free(bio);
	tls_text_free(text);
	return ok ? 0 : -EINVAL;
}

static int tls_load_key(SSL_CTX *ctx, const char *path, char *err, size_t errsz)
{
	const char *what = "cannot use the client key";
	char *text = NULL;
	BIO *bio = tls_read(what, path, &text, err, errsz);
	EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, tls_no_passphrase, NULL) : NULL;
	bool ok = key && SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;

	if (bio && !ok)
		tls_error(err, errsz, what, path);
	EVP_PKEY_free(key);
	BIO_free(bio);
	tls_text_free(text);
	return ok ? 0 : -EINVAL;
}

static int tls_verify_host(SSL_CTX *ctx, const char *host)
{
	X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);

	if (resolve_is_numeric(host))
		return X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1 ? 0 : -EINVAL;
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (X509_VERIFY_PARAM_set1_host(param, host, 0) != 1)
		return -EINVAL;
	/* The string lives in the publisher's settings, which outlive every
	 * connection and so every context (mqtt_tls_setup). */
	SSL_CTX_set_app_data(ctx, (void *) host);
	SSL_CTX_set_info_callback(ctx, tls_on_info);
	return 0;
}

/* Our own context: libmosquitto would check the certificate against the
 * address it connects to, we check it against the configured host name.
 * Every file is read here into memory, never opened by OpenSSL. */
static SSL_CTX *tls_ctx(const struct mqtt_settings *s, char *err, size_t errsz)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx) {
		snprintf(err, errsz, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_default_passwd_cb(ctx, tls_no_passphrase);
	if (tls_load_cas(ctx, s, err, errsz) < 0)
		goto fail;

	/* Mutual TLS: the client certificate, when there is no user name. */
	if (!s->username[0] && s->cert_file[0] &&
	    (tls_load_cert(ctx, s->cert_file, err, errsz) < 0 ||
	     tls_load_key(ctx, s->key_file, err, errsz) < 0))
		goto fail;

	if (tls_verify_host(ctx, s->broker.host) < 0) {
		snprintf(err, errsz, "cannot set the host name to verify");
		goto fail;
	}
	return ctx;

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
