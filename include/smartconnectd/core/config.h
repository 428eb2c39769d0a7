/* SPDX-License-Identifier: MIT */
/*
 * The daemon's configuration: /etc/smartconnect.conf, INI style.
 *
 *   [Section]
 *   Key=Value            ; comment
 *   # comment
 *
 * A comment starts at ';' or '#' at the beginning of a line or after
 * whitespace. A value may be written in double quotes ("a ;b", with \" and
 * \\ as the only escapes) to keep such characters. Line ends LF or CR LF.
 *
 * Table driven: one row per key (section, key, type, default, offset in
 * struct config, what to re-apply when it changes). Every key is parsed and
 * validated, including keys of subsystems that come later, so a file written
 * today stays valid. Unknown sections and keys, values of the wrong type or
 * out of range, and keys set twice are errors; every error is reported, each
 * naming file, line, section and key, before the parse fails.
 *
 * struct config is plain data without pointers: copy it with memcpy, compare
 * it field by field (config_diff).
 *
 * Pure: parse, validate and diff do no I/O and never log; errors go to the
 * caller's callback. config_load() reads the file, nothing else does.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/proto.h"
#include "smartconnectd/net/listener.h"
#include "smartconnectd/outputs/modbus-server.h"
#include "smartconnectd/outputs/mqtt.h"

#define CONFIG_FILE_MAX (64 * 1024) /* bytes in a config file */
#define CONFIG_LINE_MAX 1024        /* characters in a line, line end excluded */

/* Sizes of the string fields, terminating NUL included. Small enough that any
 * accepted value, quoted and escaped by config_dump(), fits in one line. */
#define CONFIG_PATH_MAX 256
#define CONFIG_HOST_MAX LISTENER_HOST_MAX
#define CONFIG_URL_MAX 512
#define CONFIG_NAME_MAX 128
#define CONFIG_TOKEN_MAX 65
#define CONFIG_KEY_HEX_MAX 33 /* an AES-128 key in hex, and the NUL */

enum config_meter_type {
	CONFIG_METER_TYPE_EMPRO,   /* PhoenixContact-EMPro */
	CONFIG_METER_TYPE_SDM630,  /* Eastron-SDM630 */
	CONFIG_METER_TYPE_EM24,    /* CarloGavazzi-EM24 */
	CONFIG_METER_TYPE_SUNSPEC, /* SunSpec */
	CONFIG_METER_TYPE_DTSU666, /* Chint-DTSU666 */
	CONFIG_METER_TYPE_EM340,   /* CarloGavazzi-EM340 */
	_CONFIG_METER_TYPE_MAX,
};

/* [ModbusRTU] Parity: the letters of the serial setting, as libmodbus takes them. */
enum config_parity {
	CONFIG_PARITY_NONE, /* N */
	CONFIG_PARITY_EVEN, /* E */
	CONFIG_PARITY_ODD,  /* O */
	_CONFIG_PARITY_MAX,
};

/* What must be re-applied when a key changes (config_diff). */
enum {
	CONFIG_APPLY_LOG = 1u << 0,   /* log level */
	CONFIG_APPLY_TTY = 1u << 1,   /* reopen the tty, detect the protocol again */
	CONFIG_APPLY_METER = 1u << 2, /* decoder options and staleness, tty untouched */
	CONFIG_APPLY_MBSRV = 1u << 3,
	CONFIG_APPLY_HTTP = 1u << 4,
	CONFIG_APPLY_MQTT = 1u << 5,
	CONFIG_APPLY_PASSTHROUGH = 1u << 6,
	CONFIG_APPLY_MDNS = 1u << 7,
	CONFIG_APPLY_DEVICE = 1u << 8,   /* the LED and the button */
	CONFIG_APPLY_NETWORK = 1u << 9,  /* the gateway's own network, through NetworkManager */
	CONFIG_APPLY_MBRTU = 1u << 10,   /* the Modbus RTU server on RS-485 */
	CONFIG_APPLY_HISTORY = 1u << 11, /* the history's save timer */
};

/* [Network] Manage: who configures the gateway's network. */
enum config_net_manage {
	CONFIG_NET_MANAGE_NO,             /* the operating system; we only store the keys */
	CONFIG_NET_MANAGE_NETWORKMANAGER, /* we, through NetworkManager over D-Bus */
	_CONFIG_NET_MANAGE_MAX,
};

/* [Network] DefaultNetIf and the IpMode keys. */
enum config_netif {
	CONFIG_NETIF_ETHERNET,
	CONFIG_NETIF_WIFI,
	_CONFIG_NETIF_MAX,
};

enum config_ip_mode {
	CONFIG_IP_MODE_DHCP,
	CONFIG_IP_MODE_STATIC,
	_CONFIG_IP_MODE_MAX,
};

/* Static IPv4 settings of one interface; strings are empty when not set. */
struct config_ipv4 {
	enum config_ip_mode mode; /* IpMode */
	char address[16];         /* Address */
	uint32_t prefix;          /* Netmask, as a prefix length */
	char gateway[16];         /* Gateway */
	char dns[16];             /* DNS */
};

struct config {
	/* [Daemon] */
	int log_level;            /* LogLevel: LOG_ERR .. LOG_DEBUG */
	uint32_t log_summary_sec; /* LogSummaryInterval: repeated errors summarised this often */

	/* [Meter] */
	char device[CONFIG_PATH_MAX];            /* Device: absolute path of the tty, or tcp://HOST:PORT */
	enum reading_protocol protocol;          /* Protocol: READING_PROTO_NONE = auto */
	uint32_t stale_after_sec;                /* StaleAfter: 0 = 3 x the meter's interval */
	int utc_offset_min;                      /* UtcOffset: the meter's standard-time offset */
	enum decode_grid grid;                   /* Grid */
	char decryption_key[CONFIG_KEY_HEX_MAX]; /* DecryptionKey: 32 hex digits, empty = none */
	char authentication_key[CONFIG_KEY_HEX_MAX]; /* AuthenticationKey: empty = the Smarty key */

	/* [Modbus] */
	struct listener_address modbus_listen;               /* Listen */
	enum config_meter_type meter_type;                   /* MeterType */
	uint32_t modbus_max_clients;                         /* MaxClients */
	uint32_t modbus_max_per_ip;                          /* MaxClientsPerIP */
	uint32_t modbus_idle_sec;                            /* IdleTimeout: 0 = never */
	enum modbus_server_stale_policy modbus_stale_policy; /* StalePolicy */
	enum modbus_framing modbus_framing;                  /* Framing */

	/* [ModbusRTU] */
	char rtu_device[CONFIG_PATH_MAX];                 /* Device: empty = no RTU server */
	uint32_t rtu_baud;                                /* Baud: a standard rate, 1200..115200 */
	enum config_parity rtu_parity;                    /* Parity */
	uint32_t rtu_stop_bits;                           /* StopBits: 1 or 2 */
	uint32_t rtu_unit_id;                             /* UnitId: 1..247 */
	enum config_meter_type rtu_meter_type;            /* MeterType */
	enum modbus_server_stale_policy rtu_stale_policy; /* StalePolicy */

	/* [HTTP] */
	struct listener_address http_listen;      /* Listen */
	char http_user[CONFIG_NAME_MAX];          /* User */
	char http_password[CONFIG_NAME_MAX];      /* Password: empty = not set */
	char http_password_file[CONFIG_PATH_MAX]; /* PasswordFile: empty = <state-dir>/http-password */
	char http_certificate[CONFIG_PATH_MAX];   /* Certificate: PEM file, empty = plain HTTP */
	char http_key[CONFIG_PATH_MAX];           /* Key: PEM file */
	uint32_t http_max_connections;            /* MaxConnections */
	uint32_t http_max_per_ip;                 /* MaxConnectionsPerIP */
	uint32_t http_timeout_sec;                /* Timeout: idle connections are closed */
	char http_allowed_hosts[CONFIG_URL_MAX];  /* AllowedHosts: more Host names, blank-separated */
	bool http_metrics_auth;                   /* MetricsAuth: GET /metrics needs the credentials */
	struct listener_address http_listen_tls;  /* ListenTLS: empty host = no second, HTTPS listener */
	bool http_require_tls;                    /* RequireTLS: plain HTTP only redirects */
	uint32_t http_max_live_clients;           /* MaxLiveClients: GET /api/v1/live streams */
	uint32_t http_session_idle_sec;           /* SessionIdleTimeout: the page's session */

	/* [MQTT] */
	bool mqtt_enabled;                            /* Enabled */
	struct mqtt_broker mqtt_broker;               /* Broker */
	char mqtt_site[CONFIG_TOKEN_MAX];             /* Site */
	char mqtt_username[CONFIG_NAME_MAX];          /* Username */
	char mqtt_password[CONFIG_NAME_MAX];          /* Password */
	char mqtt_ca_file[CONFIG_PATH_MAX];           /* CAFile: empty = system CAs */
	char mqtt_ca_path[CONFIG_PATH_MAX];           /* CAPath */
	char mqtt_cert_file[CONFIG_PATH_MAX];         /* CertFile: client certificate */
	char mqtt_key_file[CONFIG_PATH_MAX];          /* KeyFile */
	uint32_t mqtt_keepalive_sec;                  /* KeepAlive */
	uint32_t mqtt_connect_timeout_sec;            /* ConnectTimeout */
	uint32_t mqtt_counters_sec;                   /* CountersInterval */
	bool mqtt_homeassistant;                      /* HomeAssistant */
	bool mqtt_commands;                           /* Commands */
	char mqtt_discovery_prefix[CONFIG_TOKEN_MAX]; /* DiscoveryPrefix */
	char mqtt_ping_gateway[CONFIG_HOST_MAX];      /* PingGateway: auto, empty or a host */
	char mqtt_ping_host[CONFIG_HOST_MAX];         /* PingHost: empty = the broker */
	uint32_t mqtt_ping_sec;                       /* PingInterval */

	/* [Device] */
	char serial[CONFIG_TOKEN_MAX]; /* Serial: "auto" or the serial */
	bool device_updates;           /* Updates: POST /api/v1/firmware and the daily check */

	/* [Passthrough] */
	struct listener_address passthrough_listen; /* Listen: empty host = no TCP server */
	bool passthrough_valid_only;                /* ValidOnly */
	bool passthrough_decrypted;                 /* Decrypted */
	uint32_t passthrough_max_clients;           /* MaxClients */
	uint32_t passthrough_queue_size;            /* QueueSize: bytes per client */
	struct listener_allow passthrough_allow;    /* AllowFrom */

	/* [HomeWizard] */
	bool homewizard_enabled;                   /* Enabled */
	struct listener_address homewizard_listen; /* Listen: empty = port 80, or 8080 when HTTP has 80 */
	struct listener_allow homewizard_allow;    /* AllowFrom */
	char passthrough_device[CONFIG_PATH_MAX];  /* Device: empty = no P1 out */
	/* [History] */
	uint32_t history_save_sec; /* SaveInterval: 0 = only at shutdown */
	/* [mDNS] */
	bool mdns_enabled;                /* Enabled */
	char mdns_name[CONFIG_TOKEN_MAX]; /* Name: host name label, "<Name>.local" */
	/* [Network] */
	enum config_net_manage net_manage; /* Manage */
	char eth_ifname[16];               /* EthernetInterface: "auto" or a name */
	char wifi_ifname[16];              /* WiFiInterface: "auto" or a name */
	uint32_t net_confirm_sec;          /* ConfirmTimeout: rollback unless confirmed */
	char net_hostname[64];             /* Hostname: "auto" = smart-connect-<serial> */
	enum config_netif netif;           /* DefaultNetIf */
	struct config_ipv4 eth;            /* Ethernet* */
	char wifi_ssid[33];                /* WiFiSSID */
	char wifi_password[64];            /* WiFiPassword */
	struct config_ipv4 wifi;           /* WiFi* */
	/* [Indicator]: LED names in the LED class directory, "" = not wired */
	char indicator_path[CONFIG_PATH_MAX];       /* Path */
	char indicator_red[CONFIG_NAME_MAX];        /* Red */
	char indicator_green[CONFIG_NAME_MAX];      /* Green */
	char indicator_blue[CONFIG_NAME_MAX];       /* Blue */
	char indicator_multicolor[CONFIG_NAME_MAX]; /* Multicolor: wins over the three */
	/* [Button] */
	char button_device[CONFIG_PATH_MAX]; /* Device: evdev device, "" = no button */
	char button_key[CONFIG_TOKEN_MAX];   /* Key: KEY_ name or code */
};

/* Receives one complete error message, e.g.
 * "smartconnect.conf:12: [Meter] Protocol: unknown value 'dsmr5', expected ...".
 * The string is valid only during the call. */
typedef void (*config_error_fn)(const char *message, void *userdata);

/* A new config holding the built-in defaults. NULL on OOM. */
struct config *config_new(void);
struct config *config_free(struct config *c); /* NULL-safe, returns NULL */
DEFINE_FREEP(struct config, config_free)

/*
 * Parse n bytes of INI text over c (set keys replace c's values; run it on a
 * config_new() for file semantics), then run the cross-key checks. fname names
 * the source in messages. Each problem goes to err (may be NULL).
 * Returns 0; -EINVAL when anything was wrong (c is then half updated: discard
 * it); -EFBIG when n > CONFIG_FILE_MAX (nothing parsed).
 * The buffer need not be NUL-terminated and may contain any bytes.
 */
int config_parse(struct config *c, const char *fname, const char *buf, size_t n, config_error_fn err,
		 void *userdata);

/* Cross-key checks on a complete config (e.g. MQTT enabled needs a broker).
 * Messages name the keys, without file and line. Returns 0 or -EINVAL. */
int config_validate(const struct config *c, config_error_fn err, void *userdata);

/*
 * Defaults, then the file at path, parsed and validated. Reads at most
 * CONFIG_FILE_MAX bytes. Returns 0 with *ret set; -ENOENT when the file does
 * not exist (not reported: the caller decides whether that is fine); other
 * negative errnos after reporting through err (open/read failures, a file
 * that is too large or not a regular file, -EINVAL for parse errors).
 */
int config_load(const char *path, config_error_fn err, void *userdata, struct config **ret);

/* Bitmask of CONFIG_APPLY_* for the keys whose values differ. */
unsigned config_diff(const struct config *a, const struct config *b);

/* "log, tty, meter" for a CONFIG_APPLY_* mask; "nothing" for 0. */
const char *config_apply_to_string(unsigned mask, char *buf, size_t size);

/*
 * Write the effective configuration as INI text (every key, in table order).
 * Passwords are written as "<set>" unless show_secrets; with show_secrets the
 * output parses back into an identical config. Returns 0 or -EIO.
 */
int config_dump(const struct config *c, FILE *f, bool show_secrets);

const char *config_meter_type_to_string(enum config_meter_type t) __attribute__((const));
/* "N", "E", "O"; NULL for a value out of range. */
const char *config_parity_to_string(enum config_parity p) __attribute__((const));
const char *config_grid_to_string(enum decode_grid g) __attribute__((const));

/* ---- the key table, for generic consumers (the HTTP API's JSON) ---------------------------- */

enum config_value_kind {
	CONFIG_VALUE_STRING,
	CONFIG_VALUE_BOOL, /* formatted "yes" / "no" */
	CONFIG_VALUE_INT,  /* formatted as decimal digits */
};

struct config_key_info {
	const char *section, *key;
	enum config_value_kind kind;
	bool secret;    /* passwords: never shown */
	bool read_file; /* names a file the daemon reads (certificates, keys, passwords) */
	unsigned apply;
};

/* Number of keys in the table; config_key_at(i) describes key i (table order). */
size_t config_n_keys(void) _pure_;
struct config_key_info config_key_at(size_t i);
/* Index of [section] key (exact spelling), or -ENOENT. */
int config_key_find(const char *section, const char *key);

/* Key i's value of c, formatted as in the file (unquoted). Returns buf. */
const char *config_get(const struct config *c, size_t i, char *buf, size_t size);

/* Whether s is valid UTF-8, as every value must be: values end up in JSON. */
bool config_text_is_utf8(const char *s);

/* Parse value into key i of c. On error writes a message without file or key
 * into err and returns -EINVAL or -ERANGE; c is unchanged then. */
int config_set(struct config *c, size_t i, const char *value, char *err, size_t errsz);

/* Largest formatted value, terminating NUL included. */
#define CONFIG_VALUE_MAX (CONFIG_URL_MAX + CONFIG_PATH_MAX)

/* The decoder options the [Meter] keys describe. */
struct decode_opts config_decode_opts(const struct config *c);
