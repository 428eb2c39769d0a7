/* SPDX-License-Identifier: MIT */
/*
 * The HomeWizard-compatible local API (see homewizard.h): one MHD instance
 * in the loop, its accept policy the allow list, three read-only routes.
 */
#include <errno.h>
#include <stdarg.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smartconnectd/base/log.h"
#include "smartconnectd/outputs/homewizard-json.h"
#include "smartconnectd/outputs/homewizard.h"
#include "smartconnectd/outputs/httpd.h"
#include "smartconnectd/outputs/reading-json.h"

#define HOMEWIZARD_BACKLOG 16

struct homewizard {
	sd_event *event;
	struct store *store;
	struct MHD_Daemon *mhd;
	sd_event_source *io, *timer;
	char host[LISTENER_HOST_MAX];
	uint16_t cfg_port, port;
	struct listener_allow allow;
	char serial[64], version[64];
};

static enum MHD_Result hw_on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct homewizard *h = cls;

	(void) addrlen;
	if (listener_allowed(&h->allow, addr))
		return MHD_YES;
	log_debug("HomeWizard-compatible API: refusing a client not in AllowFrom");
	return MHD_NO;
}

static enum MHD_Result hw_queue(struct MHD_Connection *c, unsigned status, const char *type, char *text,
				size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, mode);
	enum MHD_Result ret;

	if (!resp) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(text);
		return MHD_NO;
	}
	(void) MHD_add_response_header(resp, "Content-Type", type);
	(void) MHD_add_response_header(resp, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result hw_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
	static const char oom[] = "{\"error\":\"out of memory\"}";
	char *text = j ? json_dumps(j, READING_JSON_DUMP_FLAGS) : NULL;

	json_decref(j);
	if (!text)
		return hw_queue(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json", (char *) oom,
				sizeof(oom) - 1, MHD_RESPMEM_PERSISTENT);
	return hw_queue(c, status, "application/json", text, strlen(text), MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result hw_route(struct homewizard *h, struct MHD_Connection *c, const char *url)
{
	const struct snapshot *snap = store_current(h->store);

	if (strcmp(url, "/api") == 0 || strcmp(url, "/api/") == 0)
		return hw_json(c, MHD_HTTP_OK, homewizard_json_basic(h->serial, h->version));
	if (strcmp(url, "/api/v1/data") != 0 && strcmp(url, "/api/v1/telegram") != 0)
		return hw_json(c, MHD_HTTP_NOT_FOUND, json_pack("{s:s}", "error", "no such resource"));
	if (!snap)
		return hw_json(c, MHD_HTTP_SERVICE_UNAVAILABLE,
			       json_pack("{s:s}", "error", "no telegram received yet"));
	if (strcmp(url, "/api/v1/data") == 0)
		return hw_json(c, MHD_HTTP_OK, homewizard_json_data(&snap->v));
	return hw_queue(c, MHD_HTTP_OK, "text/plain; charset=us-ascii", (char *) snap->v.text,
			snap->v.text_len, MHD_RESPMEM_MUST_COPY);
}

static enum MHD_Result hw_on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				     const char *version, const char *upload_data, size_t *upload_data_size,
				     void **req_cls)
{
	(void) version;
	(void) upload_data;
	/* The first call only sees the headers: answer on the second, after
	 * any body (which a read-only API ignores) has been drained. */
	if (!*req_cls) {
		*req_cls = cls;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		struct MHD_Response *resp =
		    MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
		enum MHD_Result ret;

		if (!resp)
			return MHD_NO;
		(void) MHD_add_response_header(resp, "Allow", "GET, HEAD");
		ret = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	return hw_route(cls, c, url);
}

/* ---- the instance in the loop ----------------------------------------------------------------- */

static void hw_arm(struct homewizard *h)
{
	MHD_UNSIGNED_LONG_LONG ms;
	uint64_t now = 0;

	if (MHD_get_timeout(h->mhd, &ms) != MHD_YES) {
		(void) sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
		return;
	}
	(void) sd_event_now(h->event, CLOCK_MONOTONIC, &now);
	(void) sd_event_source_set_time(h->timer, now + (uint64_t) ms * USEC_PER_MSEC);
	(void) sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
}

static int hw_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct homewizard *h = userdata;

	(void) s;
	(void) fd;
	(void) revents;
	(void) MHD_run(h->mhd);
	hw_arm(h);
	return 0;
}

static int hw_on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	(void) usec;
	return hw_on_io(s, -1, 0, userdata);
}

static void hw_stop(struct homewizard *h)
{
	h->io = sd_event_source_disable_unref(h->io);
	h->timer = sd_event_source_disable_unref(h->timer);
	if (h->mhd)
		MHD_stop_daemon(h->mhd); /* closes the listener it was given */
	h->mhd = NULL;
	h->port = 0;
}

static int hw_start(struct homewizard *h)
{
	const union MHD_DaemonInfo *info;
	int fd = -EBADF, r;

	r = listener_bind("HomeWizard-compatible API", h->host, h->cfg_port, HOMEWIZARD_BACKLOG, &fd);
	if (r < 0)
		return r;
	h->port = listener_port(fd);
	h->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, hw_on_accept, h, hw_on_request, h,
				  MHD_OPTION_EXTERNAL_LOGGER, httpd_log_mhd,
				  (void *) (uintptr_t) "HomeWizard-compatible API", MHD_OPTION_LISTEN_SOCKET,
				  fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned) HOMEWIZARD_MAX_CONNECTIONS,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) HOMEWIZARD_TIMEOUT_SEC,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 16384, MHD_OPTION_END);
	if (!h->mhd) {
		close(fd);
		h->port = 0;
		return log_error_errno(EINVAL, "Cannot start the HomeWizard-compatible API");
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	r = info ? sd_event_add_io(h->event, &h->io, info->epoll_fd, EPOLLIN, hw_on_io, h) : -EINVAL;
	if (r >= 0)
		r = sd_event_add_time(h->event, &h->timer, CLOCK_MONOTONIC, UINT64_MAX, 0, hw_on_timer, h);
	if (r < 0) {
		hw_stop(h);
		return log_error_errno(r, "Cannot watch the HomeWizard-compatible API: %m");
	}
	(void) sd_event_source_set_description(h->io, "homewizard-epoll");
	hw_arm(h);
	log_info("HomeWizard-compatible API on port %u", h->port);
	return 0;
}

int homewizard_new(sd_event *e, struct store *store, struct homewizard **ret)
{
	struct homewizard *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->event = sd_event_ref(e);
	h->store = store;
	*ret = h;
	return 0;
}

struct homewizard *homewizard_free(struct homewizard *h)
{
	if (!h)
		return NULL;
	hw_stop(h);
	sd_event_unref(h->event);
	free(h);
	return NULL;
}

int homewizard_apply(struct homewizard *h, const struct homewizard_settings *s)
{
	bool moved = strcmp(h->host, s->host ?: "") != 0 || h->cfg_port != s->port;

	h->allow = s->allow;
	snprintf(h->serial, sizeof(h->serial), "%s", s->serial ?: "");
	snprintf(h->version, sizeof(h->version), "%s", s->version ?: "");
	if (!s->enabled) {
		if (h->mhd)
			log_info("HomeWizard-compatible API off");
		hw_stop(h);
		return 0;
	}
	if (h->mhd && !moved)
		return 0;
	hw_stop(h);
	snprintf(h->host, sizeof(h->host), "%s", s->host ?: "");
	h->cfg_port = s->port;
	return hw_start(h);
}

uint16_t homewizard_port(const struct homewizard *h)
{
	return h ? h->port : 0;
}
