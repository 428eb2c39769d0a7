/* SPDX-License-Identifier: MIT */
/*
 * mDNS announcements through avahi-client (see mdns.h). One entry group holds
 * everything: the address records of "<name>.local" and both services, so a
 * collision on any of them renames all of them together. avahi's functions are
 * called through m->av, loaded by mdns_new() (mdns-avahi.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "smartconnectd/net/avahi-sdevent.h"
#include "smartconnectd/base/log.h"
#include "smartconnectd/net/mdns-avahi.h"
#include "smartconnectd/net/mdns.h"

/* IANA names port 502 "mbap"; browsers and admins look for "modbus". */
#define MDNS_TYPE_MODBUS "_modbus._tcp"
#define MDNS_TYPE_HTTP "_http._tcp"
#define MDNS_TYPE_HOMEWIZARD "_hwenergy._tcp"

#define MDNS_LABEL_MAX 64 /* 63 characters and the NUL */
#define MDNS_TXT_MAX 80
#define MDNS_RETRY_MIN_USEC (1 * USEC_PER_SEC)
#define MDNS_RETRY_MAX_USEC (60 * USEC_PER_SEC)
#define MDNS_RENAMES_MAX 16

struct mdns {
	struct mdns_avahi av; /* avahi-client's functions, loaded by mdns_new() */
	sd_event *event;
	struct sdevent_avahi_poll *poll;
	AvahiClient *client;
	AvahiEntryGroup *group;
	sd_event_source *retry; /* a new client after losing the old one */
	int nl_fd;              /* rtnetlink, address changes */
	sd_event_source *nl_io, *nl_settle;
	uint64_t addr_sig; /* of the addresses announced */
	uint64_t retry_usec;
	int last_error; /* of the last failed client, so a retry loop logs once */
	bool waiting;   /* "not running, waiting" logged */

	char base[MDNS_LABEL_MAX]; /* Name= */
	char name[MDNS_LABEL_MAX]; /* in use: base or an alternative */
	unsigned renames;
	char serial[MDNS_LABEL_MAX];
	char version[MDNS_TXT_MAX];
	uint16_t http_port, modbus_port;
	uint16_t hwe_port;
	char hwe_name[MDNS_TXT_MAX], hwe_type[MDNS_TXT_MAX]; /* product_name=, product_type= */
};

static int mdns_copy(char *dst, size_t size, const char *src)
{
	if (strlen(src ?: "") >= size)
		return -EINVAL;
	snprintf(dst, size, "%s", src ?: "");
	return 0;
}

static int mdns_set(struct mdns *m, const struct mdns_settings *s)
{
	if (mdns_copy(m->base, sizeof(m->base), s->name) < 0 || !*m->base ||
	    mdns_copy(m->serial, sizeof(m->serial), s->serial) < 0 ||
	    mdns_copy(m->version, sizeof(m->version), s->version) < 0)
		return -EINVAL;
	m->http_port = s->http_port;
	m->modbus_port = s->modbus_port;
	m->hwe_port = s->homewizard_port;
	snprintf(m->hwe_name, sizeof(m->hwe_name), "product_name=%s", s->homewizard_product_name ?: "");
	snprintf(m->hwe_type, sizeof(m->hwe_type), "product_type=%s", s->homewizard_product_type ?: "");
	return 0;
}

/* The next name after a collision: "<Name>-<serial>", then "<Name>-<serial>-2", ... */
static bool mdns_rename(struct mdns *m)
{
	char next[MDNS_LABEL_MAX], serial[MDNS_LABEL_MAX];
	int n;

	if (++m->renames > MDNS_RENAMES_MAX) {
		log_error("mDNS: %u names taken in a row, not announcing", MDNS_RENAMES_MAX);
		return false;
	}

	/* A serial may hold '.' and '_', which a host name label cannot. */
	snprintf(serial, sizeof(serial), "%s", m->serial[0] ? m->serial : "gw");
	for (char *p = serial; *p; p++)
		if (*p == '.' || *p == '_')
			*p = '-';
	if (m->renames == 1)
		n = snprintf(next, sizeof(next), "%s-%s", m->base, serial);
	else
		n = snprintf(next, sizeof(next), "%s-%s-%u", m->base, serial, m->renames);
	if (n < 0 || (size_t) n >= sizeof(next))
		snprintf(next, sizeof(next), "smart-connect-%u", m->renames);

	log_notice("mDNS: name '%s' is taken, using '%s'", m->name, next);
	snprintf(m->name, sizeof(m->name), "%s", next);
	return true;
}

/* The address of an interface that is up, in avahi's form; false for others. */
static bool mdns_address_of(const struct ifaddrs *i, AvahiAddress *a, unsigned *ret_idx)
{
	if (!i->ifa_addr || !(i->ifa_flags & IFF_UP))
		return false;
	*a = (AvahiAddress){ 0 };
	if (i->ifa_addr->sa_family == AF_INET) {
		a->proto = AVAHI_PROTO_INET;
		memcpy(&a->data.ipv4.address, &((const struct sockaddr_in *) i->ifa_addr)->sin_addr, 4);
	} else if (i->ifa_addr->sa_family == AF_INET6) {
		a->proto = AVAHI_PROTO_INET6;
		memcpy(a->data.ipv6.address, &((const struct sockaddr_in6 *) i->ifa_addr)->sin6_addr, 16);
	} else
		return false;
	*ret_idx = if_nametoindex(i->ifa_name);
	return *ret_idx != 0;
}

/* Which addresses the host has, as one number that does not depend on their
 * order: lifetime updates (every IPv6 router advertisement) leave it alone. */
static uint64_t mdns_address_signature(void)
{
	struct ifaddrs *list = NULL;
	uint64_t sig = 0;

	if (getifaddrs(&list) < 0)
		return 0;
	for (struct ifaddrs *i = list; i; i = i->ifa_next) {
		AvahiAddress a;
		unsigned idx;
		uint64_t h = 1469598103934665603ULL; /* FNV-1a */

		if (!mdns_address_of(i, &a, &idx))
			continue;
		h = (h ^ idx) * 1099511628211ULL;
		for (size_t k = 0; k < sizeof(a); k++)
			h = (h ^ ((const uint8_t *) &a)[k]) * 1099511628211ULL;
		sig += h;
	}
	freeifaddrs(list);
	return sig;
}

/* Address records for every address of every interface that is up, each on
 * its own interface: a loopback address is never announced on the LAN. */
static int mdns_add_addresses(const struct mdns *m, AvahiEntryGroup *g, const char *fqdn)
{
	struct ifaddrs *list = NULL;
	int r, n = 0;

	if (getifaddrs(&list) < 0)
		return log_warning_errno(errno, "mDNS: cannot list the host's addresses: %m");

	for (struct ifaddrs *i = list; i; i = i->ifa_next) {
		AvahiAddress a;
		unsigned idx;

		if (!mdns_address_of(i, &a, &idx))
			continue;
		r = m->av.entry_group_add_address(g, (AvahiIfIndex) idx, a.proto, AVAHI_PUBLISH_NO_REVERSE,
						  fqdn, &a);
		if (r == AVAHI_ERR_COLLISION) {
			freeifaddrs(list);
			return r;
		}
		if (r < 0)
			log_debug("mDNS: not announcing an address of %s: %s", i->ifa_name,
				  m->av.strerror(r));
		else
			n++;
	}
	freeifaddrs(list);
	if (n == 0)
		log_warning("mDNS: the host has no address to announce for %s", fqdn);
	return 0;
}

static int mdns_add_entries(struct mdns *m, AvahiClient *c, AvahiEntryGroup *g, char *fqdn, size_t size)
{
	char serial[MDNS_TXT_MAX], version[MDNS_TXT_MAX + 8];
	int r;

	snprintf(fqdn, size, "%s.%s", m->name, m->av.client_get_domain_name(c) ?: "local");
	snprintf(serial, sizeof(serial), "serial=%s", m->serial);
	snprintf(version, sizeof(version), "version=%s", m->version);

	r = mdns_add_addresses(m, g, fqdn);
	if (r < 0)
		return r;
	if (m->http_port) {
		r = m->av.entry_group_add_service(g, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC, 0, m->name,
						  MDNS_TYPE_HTTP, NULL, fqdn, m->http_port, serial, version,
						  "path=/", NULL);
		if (r < 0)
			return r;
	}
	if (m->modbus_port) {
		r = m->av.entry_group_add_service(g, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC, 0, m->name,
						  MDNS_TYPE_MODBUS, NULL, fqdn, m->modbus_port, serial,
						  version, NULL);
		if (r < 0)
			return r;
	}
	if (m->hwe_port)
		r = m->av.entry_group_add_service(
		    g, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC, 0, m->name, MDNS_TYPE_HOMEWIZARD, NULL, fqdn,
		    m->hwe_port, "api_enabled=1", "path=/api/v1", serial, m->hwe_name, m->hwe_type, NULL);
	return r < 0 ? r : 0;
}

static void mdns_on_group(AvahiEntryGroup *g, AvahiEntryGroupState state, void *userdata);

/* (Re)fill the entry group and commit it; renames on a local collision. */
static void mdns_register(struct mdns *m, AvahiClient *c)
{
	char fqdn[MDNS_LABEL_MAX + 64];
	int r;

	if (!m->group) {
		m->group = m->av.entry_group_new(c, mdns_on_group, m);
		if (!m->group) {
			log_warning("mDNS: cannot create an entry group: %s",
				    m->av.strerror(m->av.client_errno(c)));
			return;
		}
	}

	m->addr_sig = mdns_address_signature();
	for (;;) {
		(void) m->av.entry_group_reset(m->group);
		r = mdns_add_entries(m, c, m->group, fqdn, sizeof(fqdn));
		if (r != AVAHI_ERR_COLLISION)
			break;
		if (!mdns_rename(m))
			return;
	}
	if (r < 0) {
		log_warning("mDNS: cannot announce %s: %s", fqdn, m->av.strerror(r));
		return;
	}
	if (m->av.entry_group_is_empty(m->group))
		return;
	r = m->av.entry_group_commit(m->group);
	if (r < 0)
		log_warning("mDNS: cannot announce %s: %s", fqdn, m->av.strerror(r));
}

static void mdns_on_group(AvahiEntryGroup *g, AvahiEntryGroupState state, void *userdata)
{
	struct mdns *m = userdata;
	AvahiClient *c = m->av.entry_group_get_client(g);
	char http[32] = "HTTP not announced", modbus[32] = "Modbus not announced";

	switch (state) {
	case AVAHI_ENTRY_GROUP_ESTABLISHED:
		if (m->http_port)
			snprintf(http, sizeof(http), "HTTP on port %u", m->http_port);
		if (m->modbus_port)
			snprintf(modbus, sizeof(modbus), "Modbus on port %u", m->modbus_port);
		log_info("mDNS: announced %s.%s: %s, %s", m->name, m->av.client_get_domain_name(c) ?: "local",
			 http, modbus);
		m->renames = 0;
		break;
	case AVAHI_ENTRY_GROUP_COLLISION:
		/* Another host has the name: the group is withdrawn, try the next one. */
		if (mdns_rename(m))
			mdns_register(m, c);
		break;
	case AVAHI_ENTRY_GROUP_FAILURE:
		log_warning("mDNS: announcing failed: %s", m->av.strerror(m->av.client_errno(c)));
		break;
	case AVAHI_ENTRY_GROUP_UNCOMMITED:
	case AVAHI_ENTRY_GROUP_REGISTERING:
		break;
	}
}

static void mdns_schedule_retry(struct mdns *m);

static void mdns_on_client(AvahiClient *c, AvahiClientState state, void *userdata)
{
	struct mdns *m = userdata;

	/* Called from inside avahi_client_new() too, before m->client is set: use c. */
	switch (state) {
	case AVAHI_CLIENT_S_RUNNING:
		m->waiting = false;
		m->retry_usec = 0;
		log_debug("mDNS: avahi-daemon %s is running", m->av.client_get_version_string(c) ?: "");
		mdns_register(m, c);
		break;
	case AVAHI_CLIENT_S_REGISTERING:
	case AVAHI_CLIENT_S_COLLISION:
		/* The daemon is (re)establishing its own host name; ours follow when it runs. */
		if (m->group)
			(void) m->av.entry_group_reset(m->group);
		break;
	case AVAHI_CLIENT_CONNECTING:
		if (!m->waiting)
			log_notice("mDNS: avahi-daemon is not running, waiting for it");
		m->waiting = true;
		break;
	case AVAHI_CLIENT_FAILURE:
		log_warning("mDNS: lost avahi-daemon (%s), reconnecting",
			    m->av.strerror(m->av.client_errno(c)));
		m->waiting = false;
		mdns_schedule_retry(m);
		break;
	}
}

/* Drop the client and its group (the group first: it belongs to the client). */
static void mdns_disconnect(struct mdns *m)
{
	if (m->group)
		(void) m->av.entry_group_free(m->group);
	m->group = NULL;
	if (m->client)
		m->av.client_free(m->client);
	m->client = NULL;
}

static void mdns_connect(struct mdns *m)
{
	int error = 0;

	mdns_disconnect(m);
	m->client = m->av.client_new(sdevent_avahi_poll_get(m->poll), AVAHI_CLIENT_NO_FAIL, mdns_on_client, m,
				     &error);
	if (m->client) {
		m->last_error = 0;
		return;
	}

	/* No system bus at all: NO_FAIL only covers a missing avahi-daemon. */
	if (error != m->last_error)
		log_warning("mDNS: cannot connect to avahi (%s), retrying", m->av.strerror(error));
	m->last_error = error;
	mdns_schedule_retry(m);
}

static int mdns_on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	(void) s;
	(void) usec;
	mdns_connect(userdata);
	return 0;
}

/* Deferred: the client cannot be freed from inside its own callback. */
static void mdns_schedule_retry(struct mdns *m)
{
	int r;

	m->retry_usec = m->retry_usec ? MIN(m->retry_usec * 2, MDNS_RETRY_MAX_USEC) : MDNS_RETRY_MIN_USEC;
	if (!m->retry)
		r = sd_event_add_time_relative(m->event, &m->retry, CLOCK_MONOTONIC, m->retry_usec, 0,
					       mdns_on_retry, m);
	else
		r = sd_event_source_set_time_relative(m->retry, m->retry_usec);
	if (r >= 0)
		r = sd_event_source_set_enabled(m->retry, SD_EVENT_ONESHOT);
	if (r < 0)
		log_error_errno(r, "mDNS: cannot arm the reconnect timer, not announcing: %m");
}

/* Address changes come in bursts (DHCP, IPv6 autoconfiguration): wait for quiet. */
#define MDNS_SETTLE_USEC (1 * USEC_PER_SEC)

static int mdns_on_addresses_settled(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct mdns *m = userdata;

	(void) s;
	(void) usec;
	if (!m->client || m->av.client_get_state(m->client) != AVAHI_CLIENT_S_RUNNING ||
	    mdns_address_signature() == m->addr_sig)
		return 0;
	log_info("mDNS: the host's addresses changed, announcing them");
	mdns_register(m, m->client);
	return 0;
}

static int mdns_on_netlink(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct mdns *m = userdata;
	char buf[8192];
	int r;

	(void) s;
	(void) revents;
	/* The messages only say that something changed: getifaddrs() tells what. */
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	if (!m->nl_settle)
		r = sd_event_add_time_relative(m->event, &m->nl_settle, CLOCK_MONOTONIC, MDNS_SETTLE_USEC, 0,
					       mdns_on_addresses_settled, m);
	else
		r = sd_event_source_set_time_relative(m->nl_settle, MDNS_SETTLE_USEC);
	if (r >= 0)
		r = sd_event_source_set_enabled(m->nl_settle, SD_EVENT_ONESHOT);
	if (r < 0)
		log_warning_errno(r, "mDNS: cannot follow address changes, ignoring: %m");
	return 0;
}

/* Follow the host's addresses, so a DHCP lease after start is announced too. */
static int mdns_watch_addresses(struct mdns *m)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR };
	int r;

	m->nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (m->nl_fd < 0 || bind(m->nl_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
		return log_warning_errno(errno, "mDNS: cannot follow address changes, ignoring: %m");
	r = sd_event_add_io(m->event, &m->nl_io, m->nl_fd, EPOLLIN, mdns_on_netlink, m);
	if (r < 0)
		return log_warning_errno(r, "mDNS: cannot follow address changes, ignoring: %m");
	return 0;
}

int mdns_new(sd_event *e, const struct mdns_settings *s, struct mdns **ret)
{
	_cleanup_(mdns_freep) struct mdns *m = calloc(1, sizeof(*m));
	char why[256];
	int r;

	if (!m)
		return -ENOMEM;
	m->event = sd_event_ref(e);
	m->nl_fd = -EBADF;
	r = mdns_set(m, s);
	if (r < 0)
		return r;
	snprintf(m->name, sizeof(m->name), "%s", m->base);
	r = sdevent_avahi_poll_new(e, &m->poll);
	if (r < 0)
		return r;
	/* Only now: with mDNS off the daemon never maps avahi-client or libdbus. */
	r = mdns_avahi_load(&m->av, why, sizeof(why));
	if (r < 0) {
		log_warning("mDNS: avahi-client cannot be loaded (%s), not announcing", why);
		return r;
	}
	*ret = TAKE_PTR(m);
	return 0;
}

struct mdns *mdns_free(struct mdns *m)
{
	if (!m)
		return NULL;
	m->retry = sd_event_source_disable_unref(m->retry);
	m->nl_settle = sd_event_source_disable_unref(m->nl_settle);
	m->nl_io = sd_event_source_disable_unref(m->nl_io);
	if (m->nl_fd >= 0)
		close(m->nl_fd);
	mdns_disconnect(m);
	/* After the client: it frees its watches and timeouts through the poll. */
	sdevent_avahi_poll_free(m->poll);
	mdns_avahi_unload(&m->av);
	sd_event_unref(m->event);
	free(m);
	return NULL;
}

int mdns_start(struct mdns *m)
{
	log_debug("mDNS: connecting to avahi-daemon");
	(void) mdns_watch_addresses(m);
	mdns_connect(m);
	return 0;
}

int mdns_reconfigure(struct mdns *m, const struct mdns_settings *s)
{
	char base[MDNS_LABEL_MAX];
	uint16_t http = m->http_port, modbus = m->modbus_port, hwe = m->hwe_port;
	char serial[MDNS_LABEL_MAX];
	int r;

	snprintf(base, sizeof(base), "%s", m->base);
	snprintf(serial, sizeof(serial), "%s", m->serial);
	r = mdns_set(m, s);
	if (r < 0)
		return r;
	if (strcmp(base, m->base) == 0 && strcmp(serial, m->serial) == 0 && http == m->http_port &&
	    modbus == m->modbus_port && hwe == m->hwe_port)
		return 0;

	if (strcmp(base, m->base) != 0) {
		snprintf(m->name, sizeof(m->name), "%s", m->base);
		m->renames = 0;
	}
	if (m->client && m->av.client_get_state(m->client) == AVAHI_CLIENT_S_RUNNING)
		mdns_register(m, m->client);
	return 0;
}

const char *mdns_name(const struct mdns *m)
{
	return m->name;
}
