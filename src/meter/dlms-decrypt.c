/* SPDX-License-Identifier: MIT */
/*
 * DLMS general-glo-ciphering (see dlms-decrypt.h): header parsing and
 * AES-128-GCM through OpenSSL EVP. No cryptography is written here.
 *
 * Pure. No I/O. Never logs.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/dlms-decrypt.h"
#include "smartconnectd/meter/reading.h"

const uint8_t DLMS_SMARTY_AUTH_KEY[DLMS_KEY_LEN] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF,
};

struct dlms_cipher {
	EVP_CIPHER_CTX *ctx;
	/* The key the context holds, so a telegram costs no key schedule. */
	bool keyed;
	uint8_t key[DLMS_KEY_LEN];
};

int dlms_key_parse(const char *hex, uint8_t ret[DLMS_KEY_LEN])
{
	uint8_t key[DLMS_KEY_LEN];

	if (!hex || strlen(hex) != 2 * DLMS_KEY_LEN)
		return -EINVAL;
	for (size_t i = 0; i < DLMS_KEY_LEN; i++) {
		int hi = reading_hex_digit(hex[2 * i]), lo = reading_hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		key[i] = (uint8_t) (hi << 4 | lo);
	}
	memcpy(ret, key, sizeof(key));
	return 0;
}

/* The BER length after the title: returns the bytes it takes, 0 when more are
 * needed, -EBADMSG for a form meters do not send. */
static int parse_length(const uint8_t *p, size_t n, size_t *ret)
{
	if (n < 1)
		return 0;
	if (p[0] < 0x80) {
		*ret = p[0];
		return 1;
	}
	if (p[0] != 0x81 && p[0] != 0x82)
		return -EBADMSG;

	size_t k = p[0] - 0x80u;
	if (n < 1 + k)
		return 0;
	*ret = k == 1 ? p[1] : (size_t) p[1] << 8 | p[2];
	return (int) (1 + k);
}

int dlms_header_parse(const uint8_t *p, size_t n, struct dlms_header *ret)
{
	const size_t title_end = 2 + DLMS_TITLE_LEN;
	size_t length = 0, tag;
	int k;

	if (n >= 1 && p[0] != DLMS_GLO_CIPHERING)
		return -EBADMSG;
	if (n >= 2 && p[1] != DLMS_TITLE_LEN)
		return -EBADMSG;
	if (n < title_end)
		return -EAGAIN;

	k = parse_length(p + title_end, n - title_end, &length);
	if (k < 0)
		return k;
	if (k == 0)
		return -EAGAIN;

	size_t sc = title_end + (size_t) k;
	if (n > sc && p[sc] != DLMS_SC_AUTH_ENC && p[sc] != DLMS_SC_ENC)
		return -EBADMSG;
	if (n < sc + 5)
		return -EAGAIN;

	tag = p[sc] == DLMS_SC_AUTH_ENC ? DLMS_TAG_LEN : 0;
	/* Security control and counter, one byte of text at least, the tag. */
	if (length < 5 + 1 + tag)
		return -EBADMSG;

	*ret = (struct dlms_header){
		.security = p[sc],
		.counter = (uint32_t) p[sc + 1] << 24 | (uint32_t) p[sc + 2] << 16 |
			   (uint32_t) p[sc + 3] << 8 | p[sc + 4],
		.header_len = sc + 5,
		.length = length,
		.cipher_len = length - 5 - tag,
		.frame_len = sc + length,
	};
	memcpy(ret->title, p + 2, DLMS_TITLE_LEN);
	return 0;
}

int dlms_cipher_new(struct dlms_cipher **ret)
{
	struct dlms_cipher *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->ctx = EVP_CIPHER_CTX_new();
	if (!c->ctx) {
		free(c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

struct dlms_cipher *dlms_cipher_free(struct dlms_cipher *c)
{
	if (!c)
		return NULL;
	EVP_CIPHER_CTX_free(c->ctx);
	/* The key schedule went with the context; the copy goes too. */
	OPENSSL_cleanse(c->key, sizeof(c->key));
	free(c);
	return NULL;
}

/* Load the key once; later telegrams only set a new IV. */
static int cipher_key(struct dlms_cipher *c, const uint8_t key[DLMS_KEY_LEN])
{
	if (c->keyed && memcmp(c->key, key, DLMS_KEY_LEN) == 0)
		return 0;

	c->keyed = false;
	if (EVP_DecryptInit_ex(c->ctx, EVP_aes_128_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_GCM_SET_IVLEN, DLMS_TITLE_LEN + 4, NULL) != 1 ||
	    EVP_DecryptInit_ex(c->ctx, NULL, NULL, key, NULL) != 1)
		return -EIO;
	memcpy(c->key, key, DLMS_KEY_LEN);
	c->keyed = true;
	return 0;
}

/* One GCM pass with one authentication key. Returns 1 when the tag checks
 * out, 0 when it does not (or there is none), -EIO on a library failure. */
static int gcm_pass(struct dlms_cipher *c, const struct dlms_header *h, const uint8_t auth[DLMS_KEY_LEN],
		    const uint8_t *ct, uint8_t *out)
{
	uint8_t iv[DLMS_TITLE_LEN + 4], aad[1 + DLMS_KEY_LEN], tag[DLMS_TAG_LEN];
	int len;

	memcpy(iv, h->title, DLMS_TITLE_LEN);
	iv[8] = (uint8_t) (h->counter >> 24);
	iv[9] = (uint8_t) (h->counter >> 16);
	iv[10] = (uint8_t) (h->counter >> 8);
	iv[11] = (uint8_t) h->counter;
	aad[0] = h->security;
	memcpy(aad + 1, auth, DLMS_KEY_LEN);
	if (h->security == DLMS_SC_AUTH_ENC)
		memcpy(tag, ct + h->cipher_len, DLMS_TAG_LEN);

	if (EVP_DecryptInit_ex(c->ctx, NULL, NULL, NULL, iv) != 1 ||
	    EVP_DecryptUpdate(c->ctx, NULL, &len, aad, (int) sizeof(aad)) != 1 ||
	    EVP_DecryptUpdate(c->ctx, out, &len, ct, (int) h->cipher_len) != 1)
		return -EIO;
	if (h->security != DLMS_SC_AUTH_ENC)
		return 0;
	if (EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_GCM_SET_TAG, DLMS_TAG_LEN, tag) != 1)
		return -EIO;
	return EVP_DecryptFinal_ex(c->ctx, out + h->cipher_len, &len) == 1;
}

int dlms_decrypt(struct dlms_cipher *c, const struct dlms_keys *k, const struct dlms_header *h,
		 const uint8_t *ct, uint8_t *out, enum dlms_tag *ret_tag)
{
	const uint8_t *auth = k->has_auth ? k->auth : DLMS_SMARTY_AUTH_KEY;
	int r;

	if (!k->has_enc)
		return -ENOKEY;
	r = cipher_key(c, k->enc);
	if (r < 0)
		return r;

	r = gcm_pass(c, h, auth, ct, out);
	if (r < 0)
		return r;
	if (h->security != DLMS_SC_AUTH_ENC) {
		*ret_tag = DLMS_TAG_NONE;
		return 0;
	}
	/* A Smarty owner may have typed some other key into AuthenticationKey=:
	 * the published one is always worth a second try. */
	if (r == 0 && k->has_auth && memcmp(k->auth, DLMS_SMARTY_AUTH_KEY, DLMS_KEY_LEN) != 0) {
		r = gcm_pass(c, h, DLMS_SMARTY_AUTH_KEY, ct, out);
		if (r < 0)
			return r;
	}
	*ret_tag = r > 0 ? DLMS_TAG_VERIFIED : DLMS_TAG_MISMATCH;
	return 0;
}
