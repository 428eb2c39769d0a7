/* SPDX-License-Identifier: MIT */
/*
 * The device key and its signing request: made once (a second call is
 * -EEXIST and leaves the file), mode 0600; a request for it; and the
 * refusals: no key, a file that is no key, a FIFO in the key's place (never
 * waited on), an empty or overlong serial.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smartconnectd/core/device-identity.h"
#include "tap.h"

int main(void)
{
	char dir[] = "/tmp/test-device-identity-XXXXXX", key[128], junk[128], fifo[128], missing[128];
	struct stat st, st2;
	FILE *out = tmpfile();
	char *pem = NULL;
	size_t len = 0;
	int r;

	if (!mkdtemp(dir) || !out)
		return 1;
	snprintf(key, sizeof(key), "%s/device.key", dir);
	snprintf(junk, sizeof(junk), "%s/junk", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(missing, sizeof(missing), "%s/none", dir);

	r = device_key_generate(key);
	TAP_EQ_INT(r, 0, "key made");
	tap_ok(stat(key, &st) == 0 && (st.st_mode & 0777) == 0600, "mode 0600");
	r = device_key_generate(key);
	TAP_EQ_INT(r, -EEXIST, "a second call: -EEXIST");
	tap_ok(stat(key, &st2) == 0 && st2.st_ino == st.st_ino && st2.st_mtime == st.st_mtime &&
		   st2.st_size == st.st_size,
	       "and the key is left as it was");

	r = device_csr_write(key, "SC0123456789", out);
	TAP_EQ_INT(r, 0, "request written");
	fflush(out);
	len = (size_t) ftell(out);
	pem = calloc(1, len + 1);
	rewind(out);
	tap_ok(pem && fread(pem, 1, len, out) == len && strstr(pem, "-----BEGIN CERTIFICATE REQUEST-----"),
	       "PEM request");

	FILE *j = fopen(junk, "w");
	fputs("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n", j);
	fclose(j);
	r = device_csr_write(missing, "SC1", out);
	TAP_EQ_INT(r, -ENOENT, "no key: -ENOENT");
	r = device_csr_write(junk, "SC1", out);
	TAP_EQ_INT(r, -EINVAL, "not a key: -EINVAL");
	tap_ok(mkfifo(fifo, 0600) == 0 && device_csr_write(fifo, "SC1", out) == -EINVAL,
	       "a FIFO in the key's place: refused at once");
	r = device_csr_write(key, "", out);
	TAP_EQ_INT(r, -EINVAL, "empty serial: -EINVAL");
	TAP_EQ_INT(
	    device_csr_write(key, "12345678901234567890123456789012345678901234567890123456789012345", out),
	    -EINVAL, "65-character serial: -EINVAL");

	free(pem);
	fclose(out);
	unlink(key);
	unlink(junk);
	unlink(fifo);
	rmdir(dir);
	return tap_done();
}
