/* SPDX-License-Identifier: MIT */
/*
 * The hub's side of the device identity (device-identity.h): where the key
 * and the signed certificate live (the state directory), --csr, and the
 * defaults of [MQTT] CertFile=/KeyFile=.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "smartconnectd/base/log.h"
#include "smartconnectd/core/device-identity.h"
#include "smartconnectd/core/gateway-serial.h"

#include "daemon-internal.h"

static void device_path(const struct daemon *d, const char *name, char *buf, size_t size)
{
	if (snprintf(buf, size, "%s/%s", d->state_dir, name) >= (int) size)
		buf[0] = '\0';
}

int daemon_write_csr(struct daemon *d, FILE *out)
{
	char path[PATH_MAX], serial[CONFIG_TOKEN_MAX];
	const char *key = d->config->mqtt_key_file;
	int r;

	if (!key[0]) {
		device_path(d, DEVICE_KEY_FILE, path, sizeof(path));
		key = path;
	}
	gateway_serial_resolve(d->config->serial, NULL, serial, sizeof(serial));
	r = device_csr_write(key, serial, out);
	if (r == -ENOENT)
		return log_error_errno(
		    r, "No device key at '%s' (the package makes it: smartconnectd --generate-key)", key);
	if (r < 0)
		return log_error_errno(r, "Cannot make a signing request with '%s' for '%s': %m", key,
				       serial);
	log_info("Certificate signing request for CN=%s with the key '%s'", serial, key);
	return 0;
}

void daemon_device_tls_files(struct daemon *d, const struct config *c, const char **ret_cert,
			     const char **ret_key)
{
	*ret_cert = c->mqtt_cert_file;
	*ret_key = c->mqtt_key_file;
	if (c->mqtt_cert_file[0] || c->mqtt_key_file[0])
		return;
	/* The defaults only once the operator has put the signed certificate there. */
	device_path(d, DEVICE_CERT_FILE, d->device_cert, sizeof(d->device_cert));
	device_path(d, DEVICE_KEY_FILE, d->device_key, sizeof(d->device_key));
	if (d->device_cert[0] && d->device_key[0] && access(d->device_cert, F_OK) == 0) {
		*ret_cert = d->device_cert;
		*ret_key = d->device_key;
	}
}
