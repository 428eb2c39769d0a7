/* SPDX-License-Identifier: MIT */
/*
 * Encrypted P1 (Luxembourg Smarty, several Austrian operators): the DLMS
 * general-glo-ciphering frame that wraps an ordinary DSMR telegram.
 *
 *   DB | 08 | system title (8) | length (one byte < 0x80, or 81 + 1, or 82 + 2 bytes)
 *      | security control | frame counter (4) | ciphertext | tag (12, only with 0x30)
 *
 * The length counts everything after itself. Security control 0x30 is
 * "authenticated and encrypted", 0x20 "encrypted only" (no tag). AES-128-GCM
 * through OpenSSL EVP: IV = system title || frame counter, AAD = security
 * control || authentication key. Luxembourg publishes one authentication key
 * for every Smarty meter (DLMS_SMARTY_AUTH_KEY), used when none is configured.
 *
 * This module parses headers and decrypts; the framer (telegram.c) collects
 * the frame, checks the frame counter and hands the plaintext to the DSMR
 * decoder. Pure: no I/O, never logs; the cipher context is allocated once by
 * dlms_cipher_new(), so decrypting never allocates.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DLMS_KEY_LEN 16
#define DLMS_TITLE_LEN 8
#define DLMS_TAG_LEN 12
#define DLMS_HEADER_MAX 18 /* DB 08 title(8) 82 len(2) SC counter(4) */
#define DLMS_GLO_CIPHERING 0xDB
#define DLMS_SC_AUTH_ENC 0x30
#define DLMS_SC_ENC 0x20

/* 00112233445566778899AABBCCDDEEFF, the authentication key of every Smarty meter. */
extern const uint8_t DLMS_SMARTY_AUTH_KEY[DLMS_KEY_LEN];

/* The keys as the user configured them. Plain data: copied and compared with memcmp(). */
struct dlms_keys {
	bool has_enc, has_auth;
	uint8_t enc[DLMS_KEY_LEN];
	uint8_t auth[DLMS_KEY_LEN];
};

/* 32 hex digits (either case) into a key. 0, or -EINVAL for anything else. */
int dlms_key_parse(const char *hex, uint8_t ret[DLMS_KEY_LEN]);

struct dlms_header {
	uint8_t title[DLMS_TITLE_LEN];
	uint8_t security;  /* DLMS_SC_AUTH_ENC or DLMS_SC_ENC */
	uint32_t counter;  /* frame (invocation) counter */
	size_t header_len; /* bytes up to and including the frame counter */
	size_t length;     /* the length field: security control to the end of the tag */
	size_t cipher_len; /* ciphertext bytes (length - 5 - tag), may be out of bounds */
	size_t frame_len;  /* the whole frame on the wire */
};

/*
 * Parse the first n bytes of a frame (p[0] is 0xDB). Returns 0 with ret filled
 * when the header is complete, -EAGAIN when more bytes are needed, -EBADMSG
 * when the bytes cannot start a ciphered frame (wrong title length, length
 * form, security control, or a length too short to hold one byte of text).
 * The caller checks cipher_len against its buffer.
 */
int dlms_header_parse(const uint8_t *p, size_t n, struct dlms_header *ret);

enum dlms_tag {
	DLMS_TAG_VERIFIED, /* the tag checks out with the configured or the Smarty key */
	DLMS_TAG_NONE,     /* security control 0x20: the frame carries no tag */
	DLMS_TAG_MISMATCH, /* no key makes the tag check out: wrong keys, or damage */
};

struct dlms_cipher;

/* -ENOMEM or 0. Owned by the caller. */
int dlms_cipher_new(struct dlms_cipher **ret);
struct dlms_cipher *dlms_cipher_free(struct dlms_cipher *c); /* NULL-safe, returns NULL */

/*
 * Decrypt h's ciphertext (cipher_len bytes at ct, then the tag when h says
 * there is one) into out (cipher_len bytes, not overlapping ct) with k->enc,
 * and check the tag with k->auth when set, else with the Smarty key. The
 * plaintext is written whatever the tag says: the caller may still accept it
 * when its own CRC checks out. Returns 0 with *ret_tag set, -ENOKEY without
 * a decryption key, -EIO when OpenSSL fails.
 */
int dlms_decrypt(struct dlms_cipher *c, const struct dlms_keys *k, const struct dlms_header *h,
		 const uint8_t *ct, uint8_t *out, enum dlms_tag *ret_tag);
