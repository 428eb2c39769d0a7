/* SPDX-License-Identifier: MIT */
/*
 * The device key and its certificate signing request (see device-identity.h),
 * with OpenSSL 3's EVP and X509_REQ interfaces.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>
#include <unistd.h>

#include "smartconnectd/base/file.h"
#include "smartconnectd/base/macro.h"
#include "smartconnectd/core/device-identity.h"

int device_key_generate(const char *path)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	FILE *f = NULL;
	int fd, r = 0;

	if (!key)
		return -ENOMEM;
	/* O_EXCL: made once; a second call, or an upgrade, never replaces it. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		EVP_PKEY_free(key);
		return r;
	}
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
	} else if (!PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) || fflush(f) != 0 ||
		   fsync(fd) < 0) {
		r = -EIO;
	}
	if (f && fclose(f) != 0 && r == 0)
		r = -EIO;
	if (r < 0)
		(void) unlink(path);
	EVP_PKEY_free(key);
	return r;
}

static EVP_PKEY *device_key_load(const char *path, int *ret_error)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	EVP_PKEY *key = NULL;
	BIO *b;
	int r;

	r = file_read_regular(path, FILE_SETTING_MAX, &text, &len);
	if (r < 0) {
		*ret_error = r;
		return NULL;
	}
	b = BIO_new_mem_buf(text, (int) len);
	if (b)
		key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	/* The key's bytes are not left in the heap. */
	explicit_bzero(text, len);
	*ret_error = key ? 0 : b ? -EINVAL : -ENOMEM;
	return key;
}

static int device_csr_make(EVP_PKEY *key, const char *serial, X509_REQ *req)
{
	X509_NAME *name = X509_REQ_get_subject_name(req);
	int id = EVP_PKEY_get_base_id(key);
	const EVP_MD *md = id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448 ? NULL : EVP_sha256();

	if (!X509_REQ_set_version(req, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *) serial, -1, -1, 0))
		return -EINVAL;
	if (!X509_REQ_set_pubkey(req, key) || X509_REQ_sign(req, key, md) <= 0)
		return -EIO;
	return 0;
}

int device_csr_write(const char *key_path, const char *serial, FILE *out)
{
	X509_REQ *req = NULL;
	EVP_PKEY *key;
	int r;

	/* RFC 5280's upper bound for a common name. */
	if (!serial[0] || strlen(serial) > 64)
		return -EINVAL;
	key = device_key_load(key_path, &r);
	if (!key)
		return r;
	req = X509_REQ_new();
	r = req ? device_csr_make(key, serial, req) : -ENOMEM;
	if (r == 0 && !PEM_write_X509_REQ(out, req))
		r = -EIO;
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return r;
}
