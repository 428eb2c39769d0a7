/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of the gateway's own network (see daemon-internal.h):
 * the NetworkManager adapter's settings from [Network], when it exists
 * (Manage=networkmanager only), which API changes are refused, the safe
 * apply's undo (the network keys of before, put back when NetworkManager
 * rolled back), the confirm and access point requests, the status.
 *
 * Not here: anything that talks to NetworkManager (src/net/network-manager*.c).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "smartconnectd/base/file.h"
#include "smartconnectd/base/log.h"
#include "smartconnectd/core/config-json.h"
#include "smartconnectd/net/network-manager.h"

#include "daemon-internal.h"

#define AP_PSK_LEN 16 /* characters of the generated access point key */

static void ipv4_settings(struct network_manager_ipv4 *ip, const struct config_ipv4 *c)
{
	ip->dhcp = c->mode == CONFIG_IP_MODE_DHCP;
	snprintf(ip->address, sizeof(ip->address), "%s", c->address);
	ip->prefix = c->prefix;
	snprintf(ip->gateway, sizeof(ip->gateway), "%s", c->gateway);
	snprintf(ip->dns, sizeof(ip->dns), "%s", c->dns);
}

/* "smart-connect-<serial>", the serial made a host name label. */
static void default_hostname(const char *serial, char *buf, size_t size)
{
	int n = snprintf(buf, size, "smart-connect-%s", serial);

	for (size_t i = 0; n > 0 && i < (size_t) n && i + 1 < size; i++)
		buf[i] = isalnum((unsigned char) buf[i]) ? (char) tolower((unsigned char) buf[i]) : '-';
}

/* The access point's key: <state-dir>/wifi-ap-psk, created once with a
 * random key when missing (the package's postinst normally did). */
static int ap_psk(const struct daemon *d, char *buf, size_t size)
{
	static const char alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789"; /* 32: no bias */
	_cleanup_free_ char *path = NULL, *text = NULL;
	uint8_t rnd[AP_PSK_LEN];
	size_t len;
	int fd, r;

	if (asprintf(&path, "%s/wifi-ap-psk", d->state_dir) < 0)
		return -ENOMEM;
	r = file_read_regular(path, 256, &text, &len);
	if (r >= 0) {
		text[strcspn(text, "\r\n")] = '\0';
		snprintf(buf, size, "%s", text);
		return strlen(buf) >= 8 ? 0 : -EINVAL;
	}
	if (r != -ENOENT)
		return r;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd))
		return -EIO;
	for (size_t i = 0; i < AP_PSK_LEN && i + 1 < size; i++)
		buf[i] = alphabet[rnd[i] % 32];
	buf[MIN((size_t) AP_PSK_LEN, size - 1)] = '\0';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = dprintf(fd, "%s\n", buf) < 0 ? -EIO : 0;
	close(fd);
	return r;
}

static struct network_manager_settings daemon_network_settings(const struct daemon *d, const struct config *c)
{
	struct network_manager_settings s = {
		.use_wifi = c->netif == CONFIG_NETIF_WIFI,
		.confirm_sec = c->net_confirm_sec,
	};

	snprintf(s.ethernet_interface, sizeof(s.ethernet_interface), "%s", c->eth_ifname);
	snprintf(s.wifi_interface, sizeof(s.wifi_interface), "%s", c->wifi_ifname);
	ipv4_settings(&s.ethernet, &c->eth);
	ipv4_settings(&s.wifi, &c->wifi);
	snprintf(s.wifi_ssid, sizeof(s.wifi_ssid), "%s", c->wifi_ssid);
	snprintf(s.wifi_psk, sizeof(s.wifi_psk), "%s", c->wifi_password);
	if (strcmp(c->net_hostname, "auto") == 0)
		default_hostname(d->serial, s.hostname, sizeof(s.hostname));
	else
		snprintf(s.hostname, sizeof(s.hostname), "%s", c->net_hostname);
	snprintf(s.ap_ssid, sizeof(s.ap_ssid), "SC-%.29s", d->serial);
	if (ap_psk(d, s.ap_psk, sizeof(s.ap_psk)) < 0)
		s.ap_psk[0] = '\0'; /* logged when the access point is asked for */
	return s;
}

/* The [Network] keys of c as a JSON patch, secrets included: the undo of a
 * safe apply. Manage and the interface names are file-only, left out. */
static char *network_patch(const struct config *c)
{
	json_auto_t *root = json_object();
	char path[160], v[CONFIG_VALUE_MAX];

	if (!root)
		return NULL;
	for (size_t i = 0; i < config_n_keys(); i++) {
		struct config_key_info k = config_key_at(i);
		json_t *leaf = root, *val;
		char *p = path, *dot;

		if (strcmp(k.section, "Network") != 0 || !(k.apply & CONFIG_APPLY_NETWORK) ||
		    strcmp(k.key, "Manage") == 0)
			continue;
		config_get(c, i, v, sizeof(v));
		val = k.kind == CONFIG_VALUE_INT ? json_integer(strtoll(v, NULL, 10)) : json_string(v);
		config_json_path(i, path, sizeof(path));
		for (; (dot = strchr(p, '.')); p = dot + 1) {
			json_t *o;

			*dot = '\0';
			o = json_object_get(leaf, p);
			if (!o && json_object_set_new(leaf, p, o = json_object()) < 0)
				o = NULL;
			if (!o)
				break;
			leaf = o;
		}
		if (dot || json_object_set_new(leaf, p, val) < 0)
			return NULL;
	}
	return json_dumps(root, JSON_COMPACT);
}

/* NetworkManager undid an unconfirmed change: the settings follow, so that
 * the API and the next start show (and apply) what is in force. */
static void daemon_network_undo(struct daemon *d)
{
	_cleanup_free_ char *body = network_patch(d->net_before);
	json_t *err = NULL;
	int r;

	d->net_before = config_free(d->net_before);
	if (!body) {
		log_oom();
		return;
	}
	d->net_reverting = true;
	r = daemon_patch_config(d, body, strlen(body), &err);
	d->net_reverting = false;
	explicit_bzero(body, strlen(body));
	json_decref(err);
	if (r < 0)
		log_error_errno(r,
				"Network settings rolled back, but the saved settings could not follow: %m");
	else
		log_info("Network settings rolled back to the ones before the unconfirmed change");
}

static void daemon_on_network_state(struct network_manager *nm, void *userdata)
{
	struct daemon *d = userdata;

	if (network_manager_rolled_back(nm) && d->net_before)
		daemon_network_undo(d);
	if (d->ready)
		daemon_status_send(d, NULL);
}

int daemon_network_start(struct daemon *d)
{
	struct network_manager_settings s;
	int r;

	if (d->config->net_manage != CONFIG_NET_MANAGE_NETWORKMANAGER)
		return 0;
	r = network_manager_new(d->event, daemon_on_network_state, d, &d->network);
	if (r < 0)
		return log_oom();
	if (d->net_forget) {
		log_notice("Factory reset: deleting the network profiles the daemon created");
		(void) network_manager_forget(d->network); /* before the first apply */
		d->net_forget = false;
	}
	s = daemon_network_settings(d, d->config);
	r = network_manager_start(d->network, &s);
	explicit_bzero(&s, sizeof(s));
	if (r < 0)
		log_warning("The network is not managed, the rest runs on");
	return 0;
}

void daemon_network_stop(struct daemon *d)
{
	d->network = network_manager_free(d->network);
	d->net_before = config_free(d->net_before);
}

void daemon_network_apply(struct daemon *d, const struct config *old, unsigned changed)
{
	struct network_manager_settings s;
	bool safe = d->net_safe;
	int r;

	d->net_safe = false;
	if (!(changed & CONFIG_APPLY_NETWORK))
		return;
	if (old->net_manage != d->config->net_manage) {
		daemon_network_stop(d);
		(void) daemon_network_start(d);
		return;
	}
	if (!d->network)
		return;
	s = daemon_network_settings(d, d->config);
	r = network_manager_apply(d->network, &s, safe);
	explicit_bzero(&s, sizeof(s));
	if (r < 0) {
		log_warning_errno(r, "Network settings not applied: %m");
		return;
	}
	if (safe) {
		config_free(d->net_before);
		d->net_before = config_new();
		if (d->net_before)
			*d->net_before = *old;
	}
}

int daemon_network_check_patch(struct daemon *d, const struct config *next, json_t **ret_error)
{
	unsigned changed = config_diff(d->config, next);

	if (d->net_reverting || !(changed & CONFIG_APPLY_NETWORK))
		return 0;
	if (next->net_manage != d->config->net_manage || strcmp(next->eth_ifname, d->config->eth_ifname) ||
	    strcmp(next->wifi_ifname, d->config->wifi_ifname)) {
		*ret_error = json_pack("{s:s,s:s}", "error",
				       "[Network] Manage, EthernetInterface and WiFiInterface are set in the "
				       "configuration file only",
				       "field", "Network");
		return -EPERM;
	}
	if (!d->network) {
		*ret_error = json_pack("{s:s,s:s}", "error",
				       "the network is managed by the operating system; to let this gateway "
				       "manage it, set Manage=networkmanager in the [Network] section of "
				       "/etc/smartconnect.conf and reload",
				       "field", "Network");
		return -EPERM;
	}
	if (network_manager_pending(d->network)) {
		*ret_error =
		    json_pack("{s:s}", "error",
			      "a network change awaits confirmation: POST /api/v1/network/confirm first, "
			      "or wait for it to be rolled back");
		return -EBUSY;
	}
	d->net_safe = true;
	return 0;
}

static int network_confirm(struct daemon *d, json_t **ret)
{
	int r = network_manager_confirm(d->network);

	if (r == -ENOENT) {
		*ret = json_pack("{s:s}", "error", "no network change awaits confirmation");
		return -EBUSY;
	}
	if (r < 0)
		return r;
	d->net_before = config_free(d->net_before);
	*ret = json_pack("{s:s}", "status", "confirmed");
	return 0;
}

static int network_ap(struct daemon *d, json_t **ret)
{
	int r;

	if (d->overrides) {
		*ret = json_pack("{s:s}", "error",
				 "the access point is only offered in factory settings (no settings changed "
				 "through the API)");
		return -EBUSY;
	}
	r = network_manager_start_ap(d->network);
	if (r == -ENODEV) {
		*ret = json_pack("{s:s}", "error", "no Wi-Fi device");
		return -EBUSY;
	}
	if (r < 0)
		return r;
	log_info("Access point mode requested through the API");
	*ret = json_pack("{s:s}", "status", "starting the access point");
	return 0;
}

int daemon_network_request(struct daemon *d, const char *action, json_t **ret)
{
	if (!d->network) {
		*ret = json_pack(
		    "{s:s}", "error",
		    "the network is managed by the operating system; set Manage=networkmanager in "
		    "the [Network] section of /etc/smartconnect.conf to let this gateway manage it");
		return -EPERM;
	}
	if (strcmp(action, "confirm") == 0)
		return network_confirm(d, ret);
	if (strcmp(action, "ap") == 0)
		return network_ap(d, ret);
	return -ENOENT;
}

void daemon_network_status(struct daemon *d, json_t *network, uint64_t now)
{
	json_t *j;

	if (!network)
		return;
	if (d->network)
		j = network_manager_status_json(d->network, now);
	else
		j = json_pack("{s:s}", "managed_by", "operating-system");
	if (j)
		(void) json_object_set_new(network, "manager", j);
}
