/* SPDX-License-Identifier: MIT */
/*
 * Test helper: wrap a plaintext telegram in a DLMS general-glo-ciphering
 * frame the way Smarty and Austrian meters do, with OpenSSL EVP AES-128-GCM,
 * so tests can make encrypted frames with any key, counter and length. Used
 * by the unit tests, the bench, the fuzz corpus and the integration tests'
 * frame writer (tests/integration/dlms-seal.c).
 */
#pragma once

#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

/* Returns the frame's length, or 0 when out_size is too small or OpenSSL
 * fails. security is 0x30 (with a 12-byte tag) or 0x20 (without). */
static inline size_t dlms_seal(const uint8_t key[16], const uint8_t auth[16], const uint8_t title[8],
			       uint32_t counter, uint8_t security, const void *plain, size_t n, uint8_t *out,
			       size_t out_size)
{
	size_t tag_len = security == 0x30 ? 12 : 0, length = 5 + n + tag_len, h = 10;
	uint8_t iv[12], aad[17];
	EVP_CIPHER_CTX *ctx;
	int len, ok;

	if (length > 0xffff || out_size < 13 + length)
		return 0;
	out[0] = 0xDB;
	out[1] = 0x08;
	memcpy(out + 2, title, 8);
	if (length < 0x80)
		out[h++] = (uint8_t) length;
	else {
		out[h++] = 0x82;
		out[h++] = (uint8_t) (length >> 8);
		out[h++] = (uint8_t) length;
	}
	out[h++] = security;
	for (int i = 3; i >= 0; i--)
		out[h++] = (uint8_t) (counter >> (8 * i));

	memcpy(iv, title, 8);
	memcpy(iv + 8, out + h - 4, 4);
	aad[0] = security;
	memcpy(aad + 1, auth, 16);

	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return 0;
	ok = EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, NULL, NULL) == 1 &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
	     EVP_EncryptInit_ex(ctx, NULL, NULL, key, iv) == 1 &&
	     EVP_EncryptUpdate(ctx, NULL, &len, aad, sizeof(aad)) == 1 &&
	     EVP_EncryptUpdate(ctx, out + h, &len, plain, (int) n) == 1 &&
	     EVP_EncryptFinal_ex(ctx, out + h + n, &len) == 1 &&
	     (tag_len == 0 || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 12, out + h + n) == 1);
	EVP_CIPHER_CTX_free(ctx);
	return ok ? h + n + tag_len : 0;
}
