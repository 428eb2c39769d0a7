/* SPDX-License-Identifier: MIT */
/*
 * Meter input (see meter.h): tty bytes into the framer, accepted frames into
 * the store, plus the three time-driven parts around them: protocol detection
 * (one window per serial setting, then a lock), staleness, and the summary of
 * rejected frames (every LogSummaryInterval).
 *
 * Not here: decoding (proto-*.c via telegram.c), what each protocol is
 * (proto.h's driver table), serial I/O (tty.c), the status line
 * (meter-status.c), status reporting to systemd (daemon.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "smartconnectd/base/log-summary.h"
#include "smartconnectd/base/log.h"
#include "smartconnectd/meter/meter.h"
#include "smartconnectd/meter/source.h"
#include "meter-internal.h"

/* A DSMR 2.2-4.x meter sends every 10 s; TIC meters send all the time. */
#define METER_WINDOW_USEC (12 * USEC_PER_SEC)
/* A frame still arriving when the window ends gets a little longer, a few times. */
#define METER_WINDOW_EXTEND_USEC (2 * USEC_PER_SEC)
#define METER_WINDOW_EXTENSIONS 3
/* Locked, open, and nothing accepted for this long: detect again. */
#define METER_LOCK_LOSS_USEC (60 * USEC_PER_SEC)
/* StaleAfter=0: three intervals, but never less than this (DSMR 5 sends every
 * second, and a busy host should not flap between fresh and stale). */
#define METER_STALE_MIN_USEC (10 * USEC_PER_SEC)
/* How late a stale mark may come, at most a fifth of the limit. */
#define METER_STALE_SLACK_USEC (2 * USEC_PER_SEC)
/* Interval assumed before the first telegram tells us. */
#define METER_DEFAULT_INTERVAL_S 10

static uint64_t meter_now(const struct meter *m, clockid_t clock)
{
	uint64_t t = 0;

	(void) sd_event_now(m->event, clock, &t);
	return t;
}

static enum tty_setting meter_serial(const struct meter *m)
{
	return m->serial[m->serial_idx];
}

/* " at " before a serial setting in the log; a TCP stream has none. */
static const char *meter_at(const struct meter *m)
{
	return source_tcp_is(m->settings.device) ? "" : " at ";
}

/* The decoder options in force, with the data bits of the line once the
 * setting is locked: while detecting, a DSMR CRC may match either way. */
static void meter_sync_opts(struct meter *m)
{
	struct decode_opts o = m->settings.opts;

	/* A TCP stream carries whatever the far end's line gave: either may match. */
	o.line_bits = !m->locked || source_tcp_is(m->settings.device) ? 0
		      : meter_serial(m) == TTY_SETTING_115200_8N1     ? 8
								      : 7;
	telegram_set_opts(m->framer, &o);
}

/* The drivers to hunt for and the serial settings to try, from the table. */
static void meter_set_protocol(struct meter *m, enum reading_protocol p)
{
	m->settings.protocol = p;
	m->n_serial = proto_setting_serial(p, m->serial);
	/* A byte stream has no line settings to cycle through: one window for all. */
	if (source_tcp_is(m->settings.device))
		m->n_serial = 1;
	m->hunt = proto_setting_hunt(p);
	m->serial_idx = 0;
	m->locked = false;
	m->detect_reported = false;
	m->extensions = 0;
	m->found_protocol = READING_PROTO_NONE;
}

static enum meter_state meter_compute_state(const struct meter *m)
{
	if (!m->started)
		return METER_STATE_STOPPED;
	if (source_get_state(m->src) != TTY_STATE_OPEN)
		return METER_STATE_DEVICE_MISSING;
	if (!store_current(m->store))
		return METER_STATE_NO_DATA;
	return m->stale ? METER_STATE_STALE : METER_STATE_RECEIVING;
}

/* Tell the owner; force when something other than the state changed (protocol). */
static void meter_update_state(struct meter *m, bool force)
{
	enum meter_state s = meter_compute_state(m);

	if (s == m->state && !force)
		return;
	m->state = s;
	if (m->on_state && !m->quiet)
		m->on_state(m, m->userdata);
}

static int meter_arm(struct meter *m, sd_event_source **src, clockid_t clock, uint64_t usec, bool relative,
		     sd_event_time_handler_t cb)
{
	int r;

	if (!*src)
		return relative ? sd_event_add_time_relative(m->event, src, clock, usec, 0, cb, m)
				: sd_event_add_time(m->event, src, clock, usec, 0, cb, m);

	r = relative ? sd_event_source_set_time_relative(*src, usec) : sd_event_source_set_time(*src, usec);
	if (r < 0)
		return r;
	return sd_event_source_set_enabled(*src, SD_EVENT_ONESHOT);
}

static void meter_disarm(sd_event_source *src)
{
	if (src)
		(void) sd_event_source_set_enabled(src, SD_EVENT_OFF);
}

/* ---- detection ---------------------------------------------------------------------------- */

static int meter_on_hunt_timer(sd_event_source *s, uint64_t usec, void *userdata);

static int meter_arm_hunt(struct meter *m, uint64_t usec)
{
	int r;

	m->hunt_lazy = false;
	r = meter_arm(m, &m->hunt_timer, CLOCK_MONOTONIC, usec, true, meter_on_hunt_timer);
	if (r < 0)
		log_warning_errno(r, "Failed to arm the detection timer, ignoring: %m");
	return r;
}

static void meter_disarm_hunt(struct meter *m)
{
	m->hunt_lazy = false;
	meter_disarm(m->hunt_timer);
}

static void meter_restart_hunt(struct meter *m)
{
	m->extensions = 0;
	if (source_get_state(m->src) != TTY_STATE_OPEN) {
		meter_disarm_hunt(m);
		return;
	}
	if (!m->locked) {
		(void) meter_arm_hunt(m, METER_WINDOW_USEC);
		return;
	}
	m->lock_ref_usec = meter_now(m, CLOCK_MONOTONIC);
	if (!m->hunt_lazy && meter_arm_hunt(m, METER_LOCK_LOSS_USEC) >= 0)
		m->hunt_lazy = true;
}

static void meter_report_not_found(struct meter *m)
{
	char list[64] = "";
	size_t n = 0;

	if (m->detect_reported)
		return;
	m->detect_reported = true;

	for (size_t i = 0; i < m->n_serial && n < sizeof(list); i++)
		n += (size_t) snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
				       tty_setting_to_string(m->serial[i]));
	log_notice("No valid telegram from %s at %s yet, still trying", m->settings.device, list);
}

static void meter_next_setting(struct meter *m)
{
	int r;

	m->serial_idx = (m->serial_idx + 1) % m->n_serial;
	if (m->serial_idx == 0)
		meter_report_not_found(m);

	if (m->n_serial > 1) {
		r = source_set_setting(m->src, meter_serial(m));
		if (r < 0)
			log_warning_errno(r, "Cannot set %s on '%s', ignoring: %m",
					  tty_setting_to_string(meter_serial(m)), m->settings.device);
		/* Bytes of the old setting are no frame of the new one. */
		telegram_set_hunt(m->framer, m->hunt);
		log_debug("Trying %s on '%s'", tty_setting_to_string(meter_serial(m)), m->settings.device);
	}
	meter_restart_hunt(m);
}

static int meter_on_hunt_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct meter *m = userdata;

	(void) s;
	if (m->locked && m->hunt_lazy) {
		uint64_t until = m->lock_ref_usec + METER_LOCK_LOSS_USEC;

		if (until > usec &&
		    meter_arm(m, &m->hunt_timer, CLOCK_MONOTONIC, until, false, meter_on_hunt_timer) >= 0)
			return 0;
	}
	m->hunt_lazy = false;
	if (m->locked) {
		log_notice("No valid telegram from %s for %llus, detecting the protocol again",
			   m->settings.device, (unsigned long long) (METER_LOCK_LOSS_USEC / USEC_PER_SEC));
		m->locked = false;
		m->detect_reported = false;
		meter_sync_opts(m);
		meter_next_setting(m);
		return 0;
	}

	if (telegram_in_frame(m->framer) && m->extensions < METER_WINDOW_EXTENSIONS) {
		m->extensions++;
		meter_arm_hunt(m, METER_WINDOW_EXTEND_USEC);
		return 0;
	}
	meter_next_setting(m);
	return 0;
}

/* Lock the setting; log what was found when it is new or the meter changed. */
static bool meter_note_found(struct meter *m, const struct reading *v)
{
	char name[READING_VERSION_MAX + 16];
	const char *id;
	size_t id_len;
	bool same = m->found_protocol == v->protocol &&
		    strncmp(m->found_version, v->version, sizeof(m->found_version)) == 0 &&
		    strncmp(m->found_id, v->id, sizeof(m->found_id)) == 0;

	if (!m->locked) {
		m->locked = true;
		meter_sync_opts(m);
	}
	m->detect_reported = false;
	m->no_key = false;
	if (same)
		return false;

	m->found_protocol = v->protocol;
	snprintf(m->found_version, sizeof(m->found_version), "%s", v->version);
	snprintf(m->found_id, sizeof(m->found_id), "%s", v->id);

	proto_describe(v->protocol, m->found_version, name, sizeof(name));
	/* Some meters pad the id with blanks; the log line should not show them. */
	id = m->found_id + strspn(m->found_id, " ");
	id_len = strlen(id);
	while (id_len > 0 && id[id_len - 1] == ' ')
		id_len--;
	if (id_len > 0)
		log_info("Receiving %s telegrams from %s%s%s, meter %.*s", name, m->settings.device,
			 meter_at(m), meter_at(m)[0] ? tty_setting_to_string(meter_serial(m)) : "",
			 (int) id_len, id);
	else
		log_info("Receiving %s telegrams from %s%s%s", name, m->settings.device, meter_at(m),
			 meter_at(m)[0] ? tty_setting_to_string(meter_serial(m)) : "");
	return true;
}

/* ---- staleness ---------------------------------------------------------------------------- */

void meter_set_tap(struct meter *m, const struct meter_tap *tap)
{
	m->tap = tap ? *tap : (struct meter_tap){ 0 };
}

uint64_t meter_stale_usec(const struct meter *m)
{
	uint32_t interval = m->interval_s ?: METER_DEFAULT_INTERVAL_S;

	if (m->settings.stale_after_sec)
		return m->settings.stale_after_sec * USEC_PER_SEC;
	return MAX(3 * interval * USEC_PER_SEC, METER_STALE_MIN_USEC);
}

unsigned meter_stale_sec(const struct meter *m)
{
	return (unsigned) ((meter_stale_usec(m) + USEC_PER_SEC - 1) / USEC_PER_SEC);
}

static int meter_on_stale_timer(sd_event_source *s, uint64_t usec, void *userdata);

/*
 * Arm for the moment data turns stale. A timer already set no later stays: it
 * fires early and moves itself on, so a telegram costs no timer change. The
 * slack lets that early firing ride on a telegram's own wake-up (sd-event runs
 * a due timer in the same pass) instead of waking the loop once more.
 */
static void meter_arm_stale(struct meter *m, uint64_t at)
{
	uint64_t slack = MIN(METER_STALE_SLACK_USEC, meter_stale_usec(m) / 5);
	int r;

	if (m->stale_armed && m->stale_armed_at <= at)
		return;
	r = meter_arm(m, &m->stale_timer, CLOCK_MONOTONIC, at, false, meter_on_stale_timer);
	if (r >= 0)
		r = sd_event_source_set_time_accuracy(m->stale_timer, slack ?: 1);
	if (r < 0) {
		log_warning_errno(r, "Failed to arm the staleness timer, ignoring: %m");
		return;
	}
	m->stale_armed = true;
	m->stale_armed_at = at;
}

/* Re-evaluate against the current limit: arm for the moment data turns stale,
 * or mark it stale now. */
static void meter_check_stale(struct meter *m)
{
	uint64_t now = meter_now(m, CLOCK_MONOTONIC);

	store_set_max_age(m->store, meter_stale_usec(m));
	source_set_dead_after(m->src, meter_stale_usec(m));
	if (!store_current(m->store)) {
		meter_disarm(m->stale_timer);
		m->stale_armed = false;
		return;
	}

	if (!store_is_stale(m->store, now)) {
		meter_arm_stale(m, store_stale_at(m->store));
		/* A new telegram, or a longer StaleAfter= from a reload. */
		if (m->stale) {
			m->stale = false;
			log_notice("meter data fresh again");
		}
	} else {
		meter_disarm(m->stale_timer);
		m->stale_armed = false;
		if (!m->stale) {
			m->stale = true;
			log_warning("meter data stale (no telegram for %us)", meter_stale_sec(m));
		}
	}
	meter_update_state(m, false);
}

static int meter_on_stale_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct meter *m = userdata;

	(void) s;
	(void) usec;
	m->stale_armed = false;
	meter_check_stale(m);
	return 0;
}

/* ---- frames ------------------------------------------------------------------------------- */

static void meter_log_telegram(const struct meter *m, const struct reading *v)
{
	char *s;

	if (!log_would_log(LOG_DEBUG))
		return;

	if (!m->settings.describe) {
		if (reading_has(v, READING_P))
			log_debug("telegram: %s, %u bytes, P=%.3f W", reading_protocol_to_string(v->protocol),
				  v->text_len, reading_get(v, READING_P));
		else
			log_debug("telegram: %s, %u bytes", reading_protocol_to_string(v->protocol),
				  v->text_len);
		return;
	}
	s = m->settings.describe(v);
	log_debug("telegram: %s", s ?: "(out of memory)");
	free(s);
}

static void meter_on_accept(const struct reading *v, void *userdata)
{
	struct meter *m = userdata;
	bool changed;
	int r;

	if (m->tap.on_plaintext && (v->flags & READING_FLAG_ENCRYPTED))
		m->tap.on_plaintext(telegram_frame_offset(m->framer), v->text, v->text_len, m->tap.userdata);
	if (m->tap.on_frame)
		m->tap.on_frame(telegram_frame_offset(m->framer), telegram_frame_len(m->framer), true,
				m->tap.userdata);

	r = store_publish(m->store, v, meter_now(m, CLOCK_MONOTONIC), meter_now(m, CLOCK_REALTIME));
	if (r < 0) {
		log_error_errno(r, "Dropping a telegram: %m");
		return;
	}

	changed = meter_note_found(m, v);
	meter_restart_hunt(m);

	m->interval_s = v->interval_s;
	meter_check_stale(m);

	meter_log_telegram(m, v);
	meter_update_state(m, changed);
}

/* The end of a window with counted rejections: one line with the reasons. */
static void meter_on_reject_summary(struct log_summary *s, unsigned n, uint64_t interval_usec, void *userdata)
{
	struct meter *m = userdata;
	char list[512] = "";
	size_t k = 0;

	(void) s;
	for (size_t e = 0; e < _TELEGRAM_ERR_MAX && k < sizeof(list); e++) {
		const char *what = telegram_error_to_string((enum telegram_error) e);

		if (m->reject_counts[e])
			k += (size_t) snprintf(list + k, sizeof(list) - k, "%s%u %s", k ? ", " : "",
					       m->reject_counts[e], what);
	}
	log_warning("%u frame%s rejected in the last %llus: %s", n, n == 1 ? "" : "s",
		    (unsigned long long) (interval_usec / USEC_PER_SEC), list);
	memset(m->reject_counts, 0, sizeof(m->reject_counts));
}

static void meter_on_reject(const struct telegram_reject *r, void *userdata)
{
	struct meter *m = userdata;
	const char *reason = telegram_error_to_string(r->error) ?: "unknown";
	char name[READING_VERSION_MAX + 16], kind[READING_VERSION_MAX + 32];

	if (m->tap.on_frame)
		m->tap.on_frame(r->offset, r->frame_len, false, m->tap.userdata);

	/* A well-formed encrypted frame means the line is right: keep it while
	 * the user finds the key (the lock is lost after a minute without data). */
	if (r->error == TELEGRAM_ERR_NO_KEY) {
		bool news = !m->no_key;

		m->no_key = true;
		if (!m->locked) {
			m->locked = true;
			meter_sync_opts(m);
			meter_restart_hunt(m);
		}
		if (news)
			meter_update_state(m, true);
	}

	/* Settings that do not match the meter produce junk that now and then looks
	 * like a frame start: expected while detecting, not worth a warning. */
	if (!m->locked) {
		log_debug("Rejected a frame at %s while detecting: %s (%s)",
			  tty_setting_to_string(meter_serial(m)), reason, r->detail);
		return;
	}

	if (!log_summary_event(&m->rejects)) {
		if ((unsigned) r->error < _TELEGRAM_ERR_MAX)
			m->reject_counts[r->error]++;
		return;
	}

	proto_describe(r->protocol, "", name, sizeof(name));
	if (r->protocol == READING_PROTO_NONE)
		snprintf(kind, sizeof(kind), "an unidentified");
	else
		snprintf(kind, sizeof(kind), "a %s", name);
	log_warning("Rejected %s frame from %s: %s (%s)", kind, m->settings.device, reason, r->detail);
}

/* ---- tty ---------------------------------------------------------------------------------- */

/* After the framer: where the frame in progress starts, or the end of the input. */
static void meter_tap_sync(struct meter *m)
{
	const struct telegram *t = m->framer;

	if (m->tap.on_sync)
		m->tap.on_sync(telegram_in_frame(t) ? telegram_frame_offset(t) : telegram_counters(t)->bytes,
			       m->tap.userdata);
}

static bool meter_on_tty_data(const uint8_t *buf, size_t n, void *userdata)
{
	struct meter *m = userdata;

	if (m->tap.on_bytes)
		m->tap.on_bytes(telegram_counters(m->framer)->bytes, buf, n, meter_serial(m),
				m->tap.userdata);
	telegram_feed(m->framer, buf, n, (int64_t) (meter_now(m, CLOCK_REALTIME) / USEC_PER_SEC));
	meter_tap_sync(m);
	return telegram_in_frame(m->framer);
}

static void meter_on_tty_idle(void *userdata)
{
	struct meter *m = userdata;

	telegram_flush(m->framer);
	meter_tap_sync(m);
}

static void meter_on_tty_state(enum tty_state state, void *userdata)
{
	struct meter *m = userdata;

	if (state == TTY_STATE_OPEN)
		m->device_opens++;
	else
		/* A frame cut by the unplug is lost; the next device starts clean. */
		telegram_flush(m->framer);
	meter_restart_hunt(m);
	meter_update_state(m, false);
}

/* ---- object ------------------------------------------------------------------------------- */

int meter_new(sd_event *e, struct store *store, const struct meter_settings *s, meter_state_fn on_state,
	      void *userdata, struct meter **ret)
{
	static const struct tty_callbacks cb = {
		.on_data = meter_on_tty_data,
		.on_idle = meter_on_tty_idle,
		.on_state = meter_on_tty_state,
	};
	_cleanup_(meter_freep) struct meter *m = NULL;
	int r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;

	m->event = sd_event_ref(e);
	m->store = store;
	m->on_state = on_state;
	m->userdata = userdata;
	m->state = METER_STATE_STOPPED;
	m->settings = *s;
	log_summary_init(&m->rejects, e, s->summary_usec, meter_on_reject_summary, m);
	meter_set_protocol(m, s->protocol);

	r = telegram_new(m->hunt, &m->settings.opts, meter_on_accept, meter_on_reject, m, &m->framer);
	if (r < 0)
		return r;

	r = source_new(e, m->settings.device, meter_serial(m), &cb, m, s->resolver, &m->src);
	if (r < 0)
		return r;

	store_set_max_age(store, meter_stale_usec(m));
	source_set_dead_after(m->src, meter_stale_usec(m));
	*ret = TAKE_PTR(m);
	return 0;
}

struct meter *meter_free(struct meter *m)
{
	if (!m)
		return NULL;

	m->on_state = NULL;
	m->src = source_free(m->src);
	m->framer = telegram_free(m->framer);
	m->hunt_timer = sd_event_source_disable_unref(m->hunt_timer);
	m->stale_timer = sd_event_source_disable_unref(m->stale_timer);
	log_summary_done(&m->rejects);
	sd_event_unref(m->event);
	free(m);
	return NULL;
}

int meter_start(struct meter *m)
{
	int r;

	if (m->started)
		return 0;
	m->started = true;
	log_debug("Meter on '%s', protocol %s, trying %s first", m->settings.device,
		  proto_setting_to_string(m->settings.protocol), tty_setting_to_string(meter_serial(m)));

	r = source_start(m->src);
	if (r < 0)
		return r;
	meter_update_state(m, false);
	return 0;
}

void meter_stop(struct meter *m)
{
	if (!m->started)
		return;
	m->quiet = true;
	source_stop(m->src);
	m->quiet = false;
	meter_disarm_hunt(m);
	meter_disarm(m->stale_timer);
	m->stale_armed = false;
	/* Rejections of a run that ended are not worth a summary. */
	log_summary_done(&m->rejects);
	memset(m->reject_counts, 0, sizeof(m->reject_counts));
	m->started = false;
	meter_update_state(m, false);
}

/* Decoder options, stale limit, summary interval: nothing to reopen. */
static void meter_apply_options(struct meter *m, const struct meter_settings *s)
{
	if (s->opts.keys.has_enc)
		m->no_key = false;
	m->settings.opts = s->opts;
	meter_sync_opts(m);
	m->settings.stale_after_sec = s->stale_after_sec;
	m->settings.summary_usec = s->summary_usec;
	log_summary_set_interval(&m->rejects, s->summary_usec);
	m->settings.describe = s->describe;
	meter_check_stale(m);
}

/* Another device or protocol: detect again, on the new device if there is one. */
static int meter_apply_line(struct meter *m, const struct meter_settings *s)
{
	bool new_path = strcmp(m->settings.device, s->device) != 0;
	int r = 0;

	/* The device first: whether it is a stream decides the settings to try. */
	if (new_path)
		snprintf(m->settings.device, sizeof(m->settings.device), "%s", s->device);
	meter_set_protocol(m, s->protocol);
	telegram_set_hunt(m->framer, m->hunt);
	meter_sync_opts(m);
	(void) source_set_setting(m->src, meter_serial(m));

	if (new_path) {
		log_info("Meter device is now '%s', protocol %s", m->settings.device,
			 proto_setting_to_string(m->settings.protocol));
		r = source_set_path(m->src, m->settings.device);
	} else {
		log_info("Meter protocol is now %s", proto_setting_to_string(m->settings.protocol));
	}
	meter_restart_hunt(m);
	return r;
}

int meter_reconfigure(struct meter *m, const struct meter_settings *s, bool redetect)
{
	bool options = m->settings.opts.std_offset_min != s->opts.std_offset_min ||
		       m->settings.opts.grid != s->opts.grid ||
		       memcmp(&m->settings.opts.keys, &s->opts.keys, sizeof(s->opts.keys)) != 0 ||
		       m->settings.stale_after_sec != s->stale_after_sec ||
		       m->settings.summary_usec != s->summary_usec || m->settings.describe != s->describe;
	bool line =
	    redetect || m->settings.protocol != s->protocol || strcmp(m->settings.device, s->device) != 0;
	int r = 0;

	if (!options && !line)
		return 0;

	m->quiet = true;
	if (options)
		meter_apply_options(m, s);
	if (line)
		r = meter_apply_line(m, s);
	m->quiet = false;
	meter_update_state(m, true);
	return r;
}

enum meter_state meter_get_state(const struct meter *m)
{
	return m->state;
}

const struct telegram_counters *meter_counters(const struct meter *m)
{
	return telegram_counters(m->framer);
}

uint64_t meter_device_opens(const struct meter *m)
{
	return m->device_opens;
}
