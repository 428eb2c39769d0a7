/* SPDX-License-Identifier: MIT */
/*
 * The gateway's own HTTPS key and certificate in a temporary directory:
 * made once, kept while valid, renewed with the same key when it expires
 * within 30 days, has expired or lacks a name; a certificate someone else
 * signed and a key that cannot be read are never replaced; the key is 0600.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "smartconnectd/outputs/https-cert.h"
#include "tap.h"

#define DAY 86400

static char dir[64], cert[128], key[128];
static const char *const names[] = { "gw.local", "smart-connect.local", "localhost", NULL };

static char *slurp(const char *path)
{
	size_t len;

	return tap_read_file(path, &len);
}

static X509 *read_cert(void)
{
	FILE *f = fopen(cert, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	return x;
}

static bool has_name(X509 *x, const char *name)
{
	return X509_check_host(x, name, strlen(name), 0, NULL) == 1;
}

static bool same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static bool file_is(const char *path, const char *text)
{
	char *t = slurp(path);
	bool r = same(t, text);

	free(t);
	return r;
}

static enum https_cert_action ensure(const char *const *n, unsigned days, int64_t now, int *ret)
{
	enum https_cert_action a = 99;

	*ret = https_cert_ensure(cert, key, n, days, now, &a);
	return a;
}

static void test_made_kept_renewed(int64_t now)
{
	char *k0, *c0, *c1, *k1;
	struct stat st;
	X509 *x;
	int r;

	tap_ok(ensure(names, 10, now, &r) == HTTPS_CERT_MADE && r == 0, "no files: key and certificate made");
	if (stat(key, &st) < 0)
		st.st_mode = 0;
	tap_ok((st.st_mode & 0777) == 0600, "the key is 0600 (%o)", st.st_mode & 0777);
	x = read_cert();
	tap_ok(x && has_name(x, "gw.local") && has_name(x, "smart-connect.local") &&
		   X509_check_ip_asc(x, "127.0.0.1", 0) == 1 && X509_check_ip_asc(x, "::1", 0) == 1,
	       "the certificate names the gateway, 127.0.0.1 and ::1");
	X509_free(x);
	k0 = slurp(key);
	c0 = slurp(cert);

	/* Ten days' validity is within the 30 days: renewed at once, same key. */
	tap_ok(ensure(names, HTTPS_CERT_DAYS, now, &r) == HTTPS_CERT_RENEWED && r == 0,
	       "valid 10 more days: renewed");
	k1 = slurp(key);
	c1 = slurp(cert);
	tap_ok(same(k0, k1) && !same(c0, c1), "renewed with the same key, a new certificate");
	free(c0);
	c0 = c1;
	tap_ok(ensure(names, HTTPS_CERT_DAYS, now, &r) == HTTPS_CERT_KEPT && file_is(cert, c0),
	       "valid 825 days: kept as it is");
	tap_ok(ensure(names, HTTPS_CERT_DAYS, now + (HTTPS_CERT_DAYS - 31) * (int64_t) DAY, &r) ==
		   HTTPS_CERT_KEPT,
	       "31 days before it expires: kept");
	tap_ok(ensure(names, HTTPS_CERT_DAYS, now + (HTTPS_CERT_DAYS - 29) * (int64_t) DAY, &r) ==
		   HTTPS_CERT_RENEWED,
	       "29 days before it expires: renewed");
	tap_ok(ensure(names, HTTPS_CERT_DAYS, now + 5000 * (int64_t) DAY, &r) == HTTPS_CERT_RENEWED,
	       "long expired: renewed");
	tap_ok(ensure(names, HTTPS_CERT_DAYS, now - 3 * (int64_t) DAY, &r) == HTTPS_CERT_RENEWED,
	       "not valid yet (the clock went back): renewed");
	tap_ok(file_is(key, k0), "the key never changed");
	free(k0);
	free(k1);
	free(c0);
}

static void test_names(int64_t now)
{
	static const char *const renamed[] = { "kitchen.local", "smart-connect.local", "localhost", NULL };
	X509 *x;
	int r;

	tap_ok(ensure(renamed, HTTPS_CERT_DAYS, now, &r) == HTTPS_CERT_RENEWED, "a name missing: renewed");
	x = read_cert();
	tap_ok(x && has_name(x, "kitchen.local") && !has_name(x, "gw.local"),
	       "the new certificate has the new name");
	X509_free(x);
	tap_ok(ensure(renamed, HTTPS_CERT_DAYS, now, &r) == HTTPS_CERT_KEPT, "then kept");
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

/* A certificate for another key (an admin's) is left alone. */
static void test_not_ours(int64_t now)
{
	char other_dir[128], other_cert[160], other_key[160], *c0;
	int r;

	snprintf(other_dir, sizeof(other_dir), "%s/other", dir);
	mkdir(other_dir, 0700);
	snprintf(other_cert, sizeof(other_cert), "%s/c.pem", other_dir);
	snprintf(other_key, sizeof(other_key), "%s/k.pem", other_dir);
	tap_ok(https_cert_ensure(other_cert, other_key, names, 5, now, &(enum https_cert_action){ 0 }) == 0,
	       "another key and a certificate due for renewal");
	c0 = slurp(other_cert);
	put(cert, c0);
	tap_ok(ensure(names, HTTPS_CERT_DAYS, now, &r) == HTTPS_CERT_NOT_OURS && r == 0 && file_is(cert, c0),
	       "a certificate not signed by our key: not touched, even when due");
	free(c0);

	put(cert, "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n");
	tap_ok(ensure(names, HTTPS_CERT_DAYS, now, &r) == HTTPS_CERT_MADE && r == 0,
	       "a certificate file that is not PEM: made anew");
	put(key, "not a key\n");
	c0 = slurp(cert);
	tap_ok(ensure(names, HTTPS_CERT_DAYS, now, &r) == 99 && r < 0 && file_is(key, "not a key\n") &&
		   file_is(cert, c0),
	       "an unreadable key: an error, key and certificate left as they are");
	free(c0);
}

static void test_bad_args(int64_t now)
{
	static const char *const none[] = { NULL };
	static const char *const many[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i", NULL };
	int r;

	(void) ensure(none, 10, now, &r);
	tap_ok(r == -EINVAL, "no names: -EINVAL");
	(void) ensure(many, 10, now, &r);
	tap_ok(r == -EINVAL, "more than %d names: -EINVAL", HTTPS_CERT_NAMES_MAX);
	(void) ensure(names, 0, now, &r);
	tap_ok(r == -EINVAL, "0 days: -EINVAL");
	(void) ensure(names, HTTPS_CERT_DAYS_MAX + 1, now, &r);
	tap_ok(r == -EINVAL, "more than %d days: -EINVAL", HTTPS_CERT_DAYS_MAX);
}

int main(void)
{
	int64_t now = (int64_t) time(NULL);
	char cmd[256];

	snprintf(dir, sizeof(dir), "/tmp/test-https-cert-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);

	test_made_kept_renewed(now);
	test_names(now);
	test_not_ours(now);
	test_bad_args(now);

	tap_ok(https_cert_show(dir, stdout) < 0, "show: a directory is an error");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void) system(cmd);
	return tap_done();
}
