/* SPDX-License-Identifier: MIT */
/*
 * The gateway's own key and self-signed certificate (see https-cert.h):
 * loading, the checks that decide a renewal, making both, and the
 * fingerprint for an installer.
 */
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/base/file.h"
#include "smartconnectd/base/log.h"
#include "smartconnectd/outputs/https-cert.h"

#define PEM_MAX (64 * 1024)
#define SECONDS_PER_DAY 86400
/* A new certificate is valid from a day back: a client whose clock is a
 * little behind the gateway's must not see it as "not yet valid". */
#define BACKDATE_SEC SECONDS_PER_DAY

static const char *const action_names[] = {
	[HTTPS_CERT_KEPT] = "kept",
	[HTTPS_CERT_MADE] = "made",
	[HTTPS_CERT_RENEWED] = "renewed",
	[HTTPS_CERT_NOT_OURS] = "not ours, left alone",
};

const char *https_cert_action_to_string(enum https_cert_action a)
{
	return (unsigned) a < sizeof(action_names) / sizeof(action_names[0]) ? action_names[a] : NULL;
}

static void evp_pkey_freep(EVP_PKEY **p)
{
	EVP_PKEY_free(*p);
}

static void x509_freep(X509 **p)
{
	X509_free(*p);
}

static void bio_freep(BIO **p)
{
	BIO_free(*p);
}

/* ---- files ------------------------------------------------------------------------------------ */

static BIO *bio_read_file(const char *path, int *ret_error)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	BIO *b;
	int r;

	r = file_read_regular(path, PEM_MAX, &text, &len);
	if (r < 0) {
		*ret_error = r;
		return NULL;
	}
	b = BIO_new(BIO_s_mem());
	if (!b || BIO_write(b, text, (int) len) != (int) len) {
		BIO_free(b);
		*ret_error = -ENOMEM;
		return NULL;
	}
	OPENSSL_cleanse(text, len);
	return b;
}

static int load_cert(const char *path, X509 **ret)
{
	__attribute__((cleanup(bio_freep))) BIO *b = NULL;
	int r = 0;

	b = bio_read_file(path, &r);
	if (!b)
		return r;
	*ret = PEM_read_bio_X509(b, NULL, NULL, NULL);
	return *ret ? 0 : -EBADMSG;
}

static int load_key(const char *path, EVP_PKEY **ret)
{
	__attribute__((cleanup(bio_freep))) BIO *b = NULL;
	int r = 0;

	b = bio_read_file(path, &r);
	if (!b)
		return r;
	*ret = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	return *ret ? 0 : -EBADMSG;
}

/* The PEM text in b to path, whole or not at all. */
static int write_atomic(const char *path, mode_t mode, BIO *b)
{
	char *data;
	long len = BIO_get_mem_data(b, &data);

	if (len <= 0)
		return -ENOMEM;
	return file_write_atomic(path, mode, data, (size_t) len);
}

static int save_key(const char *path, EVP_PKEY *key)
{
	__attribute__((cleanup(bio_freep))) BIO *b = BIO_new(BIO_s_mem());

	if (!b || !PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL))
		return -ENOMEM;
	return write_atomic(path, 0600, b);
}

static int save_cert(const char *path, X509 *cert)
{
	__attribute__((cleanup(bio_freep))) BIO *b = BIO_new(BIO_s_mem());

	if (!b || !PEM_write_bio_X509(b, cert))
		return -ENOMEM;
	return write_atomic(path, 0644, b);
}

/* ---- the checks ------------------------------------------------------------------------------- */

/* Self-signed by key: issuer is subject and the signature verifies with it. */
static bool cert_is_ours(X509 *cert, EVP_PKEY *key)
{
	return X509_check_private_key(cert, key) == 1 &&
	       X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(cert)) == 0 &&
	       X509_verify(cert, key) == 1;
}

static bool cert_names_all(X509 *cert, const char *const *names)
{
	for (size_t i = 0; names[i]; i++)
		if (X509_check_host(cert, names[i], strlen(names[i]), X509_CHECK_FLAG_NO_WILDCARDS, NULL) !=
		    1)
			return false;
	return true;
}

static bool cert_due(X509 *cert, const char *const *names, int64_t now)
{
	time_t limit = (time_t) (now + (int64_t) HTTPS_CERT_RENEW_DAYS * SECONDS_PER_DAY);
	time_t t = (time_t) now;

	return X509_cmp_time(X509_get0_notAfter(cert), &limit) <= 0 ||
	       X509_cmp_time(X509_get0_notBefore(cert), &t) > 0 || !cert_names_all(cert, names);
}

/* ---- making ----------------------------------------------------------------------------------- */

static int add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -EINVAL;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -ENOMEM;
}

/* "DNS:a,DNS:b,...,IP:127.0.0.1,IP:::1" */
static char *san_text(const char *const *names)
{
	size_t len = sizeof("IP:127.0.0.1,IP:::1");
	char *s;

	for (size_t i = 0; names[i]; i++)
		len += strlen("DNS:,") + strlen(names[i]);
	s = malloc(len);
	if (!s)
		return NULL;
	*s = '\0';
	for (size_t i = 0; names[i]; i++) {
		strcat(s, "DNS:");
		strcat(s, names[i]);
		strcat(s, ",");
	}
	strcat(s, "IP:127.0.0.1,IP:::1");
	return s;
}

static int cert_fill(X509 *cert, EVP_PKEY *key, const char *const *names, unsigned days, int64_t now)
{
	_cleanup_free_ char *san = san_text(names);
	unsigned char serial[16];
	X509_NAME *name = X509_get_subject_name(cert);
	BIGNUM *bn;
	int ok;

	if (!san || RAND_bytes(serial, sizeof(serial)) != 1)
		return -ENOMEM;
	serial[0] &= 0x7f; /* positive, as RFC 5280 wants */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
	BN_free(bn);
	if (!ok || !X509_set_version(cert, X509_VERSION_3) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *) names[0], -1, -1,
					0) ||
	    !X509_set_issuer_name(cert, name) || !X509_set_pubkey(cert, key) ||
	    !X509_time_adj_ex(X509_getm_notBefore(cert), 0, -BACKDATE_SEC, &(time_t){ (time_t) now }) ||
	    !X509_time_adj_ex(X509_getm_notAfter(cert), (int) days, 0, &(time_t){ (time_t) now }))
		return -ENOMEM;
	if (add_ext(cert, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(cert, NID_key_usage, "critical,digitalSignature") < 0 ||
	    add_ext(cert, NID_ext_key_usage, "serverAuth") < 0 ||
	    add_ext(cert, NID_subject_key_identifier, "hash") < 0 ||
	    add_ext(cert, NID_subject_alt_name, san) < 0)
		return -EINVAL;
	return X509_sign(cert, key, EVP_sha256()) > 0 ? 0 : -EINVAL;
}

static int make_cert(const char *path, EVP_PKEY *key, const char *const *names, unsigned days, int64_t now)
{
	__attribute__((cleanup(x509_freep))) X509 *cert = X509_new();
	int r;

	if (!cert)
		return -ENOMEM;
	r = cert_fill(cert, key, names, days, now);
	if (r < 0)
		return log_error_errno(r, "Cannot build the HTTPS certificate: %m");
	r = save_cert(path, cert);
	if (r < 0)
		return log_error_errno(r, "Cannot write the HTTPS certificate '%s': %m", path);
	return 0;
}

/* The key at path, made when there is none; never replaced otherwise. */
static int ensure_key(const char *path, EVP_PKEY **ret, bool *ret_made)
{
	int r = load_key(path, ret);

	*ret_made = false;
	if (r == 0)
		return 0;
	if (r != -ENOENT)
		return log_error_errno(r, "Cannot read the HTTPS key '%s' (not replaced): %s", path,
				       r == -EBADMSG ? "not a PEM private key" : file_error_to_string(r));
	*ret = EVP_EC_gen("P-256");
	if (!*ret)
		return log_error_errno(ENOMEM, "Cannot make an HTTPS key");
	r = save_key(path, *ret);
	if (r < 0)
		return log_error_errno(r, "Cannot write the HTTPS key '%s': %m", path);
	*ret_made = true;
	return 0;
}

static bool names_ok(const char *const *names, unsigned days)
{
	size_t n = 0;

	while (names && names[n])
		n++;
	return n > 0 && n <= HTTPS_CERT_NAMES_MAX && days >= 1 && days <= HTTPS_CERT_DAYS_MAX;
}

int https_cert_ensure(const char *cert_path, const char *key_path, const char *const *names, unsigned days,
		      int64_t now, enum https_cert_action *ret)
{
	__attribute__((cleanup(evp_pkey_freep))) EVP_PKEY *key = NULL;
	__attribute__((cleanup(x509_freep))) X509 *cert = NULL;
	bool key_made;
	int r;

	if (!names_ok(names, days))
		return -EINVAL;
	r = ensure_key(key_path, &key, &key_made);
	if (r < 0)
		return r;
	r = key_made ? -ENOENT : load_cert(cert_path, &cert);
	if (r < 0 && r != -ENOENT && r != -EBADMSG)
		return log_error_errno(r, "Cannot read the HTTPS certificate '%s': %s", cert_path,
				       file_error_to_string(r));
	if (r == 0 && !cert_is_ours(cert, key)) {
		*ret = HTTPS_CERT_NOT_OURS;
		return 0;
	}
	if (r == 0 && !cert_due(cert, names, now)) {
		*ret = HTTPS_CERT_KEPT;
		return 0;
	}
	/* A certificate that is not PEM at all is no one's: made anew. */
	*ret = r == 0 ? HTTPS_CERT_RENEWED : HTTPS_CERT_MADE;
	return make_cert(cert_path, key, names, days, now);
}

/* ---- for an installer ------------------------------------------------------------------------- */

int https_cert_not_after(const char *cert_path, int64_t *ret)
{
	__attribute__((cleanup(x509_freep))) X509 *cert = NULL;
	struct tm tm;
	int r;

	r = load_cert(cert_path, &cert);
	if (r < 0)
		return r;
	if (!ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm))
		return -EBADMSG;
	*ret = (int64_t) timegm(&tm);
	return 0;
}

static void print_time(BIO *out, const char *label, const ASN1_TIME *t)
{
	BIO_printf(out, "%s", label);
	(void) ASN1_TIME_print(out, t);
	BIO_printf(out, "\n");
}

int https_cert_show(const char *cert_path, FILE *f)
{
	__attribute__((cleanup(x509_freep))) X509 *cert = NULL;
	__attribute__((cleanup(bio_freep))) BIO *out = BIO_new_fp(f, BIO_NOCLOSE);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	int r, san;

	r = load_cert(cert_path, &cert);
	if (r < 0)
		return log_error_errno(r, "Cannot read the HTTPS certificate '%s': %s", cert_path,
				       r == -EBADMSG ? "not a PEM certificate" : file_error_to_string(r));
	if (!out || !X509_digest(cert, EVP_sha256(), md, &n))
		return log_oom();
	BIO_printf(out, "Certificate: %s\nSHA-256 Fingerprint=", cert_path);
	for (unsigned i = 0; i < n; i++)
		BIO_printf(out, "%02X%s", md[i], i + 1 < n ? ":" : "\n");
	print_time(out, "Not Before: ", X509_get0_notBefore(cert));
	print_time(out, "Not After : ", X509_get0_notAfter(cert));
	BIO_printf(out, "Subject Alternative Names: ");
	san = X509_get_ext_by_NID(cert, NID_subject_alt_name, -1);
	if (san < 0 || X509V3_EXT_print(out, X509_get_ext(cert, san), 0, 0) <= 0)
		BIO_printf(out, "(none)");
	BIO_printf(out, "\n");
	(void) BIO_flush(out);
	return 0;
}
