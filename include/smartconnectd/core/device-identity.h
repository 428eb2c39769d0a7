/* SPDX-License-Identifier: MIT */
/*
 * The gateway's identity for mutual TLS with a fleet's broker: a private key
 * made once on the device (the package makes it at installation through
 * `smartconnectd --generate-key`; never replaced, mode 0600) and a
 * certificate signing request with CN = the gateway's serial
 * (`smartconnectd --csr`) that the operator's CA signs. The signed
 * certificate goes next to the key, and [MQTT] CertFile=/KeyFile= default
 * to the two when the certificate is there.
 */
#pragma once

#include <stdio.h>

#define DEVICE_KEY_FILE "device.key"  /* in the state directory */
#define DEVICE_CERT_FILE "device.crt" /* the signed certificate, put there by the operator */

/*
 * A new EC P-256 key in PEM at path, made with OpenSSL and written to a new
 * file of mode 0600 (O_EXCL: an existing key is never touched). 0 when made,
 * -EEXIST when there is one already, or another negative errno.
 */
int device_key_generate(const char *path);

/*
 * A PKCS#10 request in PEM on out for the key in key_path (PEM, any type
 * OpenSSL signs with), subject CN = serial, signed with that key (SHA-256,
 * none for Ed25519/Ed448). 0, -ENOENT (no key), -EINVAL (not a key, or a
 * serial that cannot be a CN), -ENOMEM, -EIO.
 */
int device_csr_write(const char *key_path, const char *serial, FILE *out);
