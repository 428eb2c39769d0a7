/* SPDX-License-Identifier: MIT */
/*
 * The passthrough's members of the status object as text (jbuf.h), the same
 * keys and values as passthrough_status_json() builds as a tree.
 */
#include "smartconnectd/outputs/jbuf.h"
#include "smartconnectd/outputs/passthrough.h"

#include "passthrough-internal.h"

static void device_text(const struct passthrough *p, struct jbuf *j)
{
	const struct ptdevice *d = p->dev;

	if (!d) {
		jbuf_null(j, "device");
		return;
	}
	jbuf_object(j, "device");
	jbuf_cstring(j, "path", p->device_path);
	jbuf_cstring(j, "state", passthrough_device_state(d));
	jbuf_cstring(j, "setting", tty_setting_to_string(d->setting));
	jbuf_int(j, "bytes_sent", (int64_t) d->bytes);
	jbuf_int(j, "telegrams_sent", (int64_t) d->frames);
	jbuf_int(j, "telegrams_dropped", (int64_t) d->dropped);
	jbuf_end_object(j);
}

void passthrough_status_text(const struct passthrough *p, struct jbuf *j)
{
	const struct passthrough_counters *k = &p->counters;

	jbuf_bool(j, "listening", p->listen_fd >= 0);
	jbuf_int(j, "port", p->port);
	jbuf_bool(j, "valid_only", p->valid_only);
	jbuf_int(j, "clients", p->n_clients);
	jbuf_int(j, "clients_accepted", (int64_t) k->clients_accepted);
	jbuf_int(j, "clients_refused", (int64_t) k->clients_refused);
	jbuf_int(j, "bytes_sent", (int64_t) k->bytes_sent);
	jbuf_int(j, "telegrams_sent", (int64_t) k->telegrams_sent);
	jbuf_int(j, "telegrams_dropped", (int64_t) k->telegrams_dropped);
	jbuf_int(j, "bytes_dropped", (int64_t) k->bytes_dropped);
	jbuf_int(j, "bytes_ignored", (int64_t) k->bytes_ignored);
	device_text(p, j);
}
