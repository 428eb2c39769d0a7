/* SPDX-License-Identifier: MIT */
/*
 * The gateway's own HTTPS certificate: one P-256 key per device, made once
 * and never replaced, and a self-signed certificate for it, made with
 * OpenSSL (no tool, no other package). The certificate names the gateway as
 * a browser reaches it (host name, "<mDNS name>.local", smart-connect.local,
 * localhost, 127.0.0.1 and ::1).
 *
 * A certificate is renewed, with the same key, when it expires within
 * HTTPS_CERT_RENEW_DAYS or lacks one of the names asked for; only one this
 * code made (self-signed, by that key) is ever touched: a certificate an
 * admin put in its place is left alone. Both files are written to a
 * temporary file, synced and renamed, so a reader sees the old or the new
 * one; the key is 0600.
 *
 * Synchronous file writes of a few hundred bytes: called at start, from the
 * command line and once a day.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Validity of a new certificate. Apple's systems refuse TLS server
 * certificates valid longer than 825 days, even self-signed ones a user trusts. */
#define HTTPS_CERT_DAYS 825
#define HTTPS_CERT_DAYS_MAX 3650
#define HTTPS_CERT_RENEW_DAYS 30
#define HTTPS_CERT_NAMES_MAX 8

enum https_cert_action {
	HTTPS_CERT_KEPT,     /* valid long enough, names complete (or not ours) */
	HTTPS_CERT_MADE,     /* there was none */
	HTTPS_CERT_RENEWED,  /* replaced: expiring, expired or names missing */
	HTTPS_CERT_NOT_OURS, /* not self-signed by the key: left alone */
};

/* Make the key if missing and the certificate if missing or due (see above).
 * names: DNS names, NULL-terminated, at most HTTPS_CERT_NAMES_MAX; the first
 * is the subject's common name. days: validity of a new certificate (1 ..
 * HTTPS_CERT_DAYS_MAX). now: the time to judge by (time(NULL)).
 * 0 and *ret, or a negative errno (logged). */
int https_cert_ensure(const char *cert_path, const char *key_path, const char *const *names, unsigned days,
		      int64_t now, enum https_cert_action *ret);

/* For an installer: the certificate's SHA-256 fingerprint as browsers show it
 * (colon-separated hex), its validity and names, written to out. 0 or a
 * negative errno (logged). */
int https_cert_show(const char *cert_path, FILE *out);

/* When the certificate at cert_path expires (Unix seconds), for the daemon's
 * next check; a negative errno when it cannot be read. */
int https_cert_not_after(const char *cert_path, int64_t *ret);

const char *https_cert_action_to_string(enum https_cert_action a);
