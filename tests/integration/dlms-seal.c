/* SPDX-License-Identifier: MIT */
/*
 * dlms-seal KEY AUTH-KEY COUNTER [SECURITY] < telegram > frame
 *
 * Wraps one plaintext telegram from stdin in an encrypted P1 frame (DLMS
 * general-glo-ciphering, AES-128-GCM via OpenSSL), system title "SAGgp" +
 * 7001BD54, for the integration tests that play an encrypted meter and for
 * seeding the fuzz corpus. SECURITY is 30 (default, with tag) or 20.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../unit/meter/dlms-seal.h"
#include "smartconnectd/meter/dlms-decrypt.h"

int main(int argc, char **argv)
{
	static const uint8_t title[8] = { 'S', 'A', 'G', 'g', 'p', 0x70, 0x01, 0xBD };
	static uint8_t plain[20000], frame[20100];
	uint8_t key[16], auth[16];
	size_t n, f;

	if (argc < 4 || dlms_key_parse(argv[1], key) < 0 || dlms_key_parse(argv[2], auth) < 0) {
		fputs("usage: dlms-seal KEY AUTH-KEY COUNTER [30|20] < telegram > frame\n", stderr);
		return 2;
	}
	n = fread(plain, 1, sizeof(plain), stdin);
	f = dlms_seal(key, auth, title, (uint32_t) strtoul(argv[3], NULL, 0),
		      (uint8_t) (argc > 4 ? strtoul(argv[4], NULL, 16) : 0x30), plain, n, frame,
		      sizeof(frame));
	if (f == 0 || fwrite(frame, 1, f, stdout) != f)
		return 1;
	return 0;
}
