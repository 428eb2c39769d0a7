/* SPDX-License-Identifier: MIT */
/*
 * The key table: every configuration key, its section, value type, default,
 * field and what re-applies it, plus the names of the enum values. Adding a
 * key is one row here, its field in config.h and its lines in
 * smartconnect.conf(5) and etc/smartconnect.conf.
 */
#include <stddef.h>
#include <syslog.h>

#include "smartconnectd/core/config.h"

#include "config-types.h"

/* Protocol=: "auto" and the names of the meter's protocol drivers (proto.h). */
static const char *protocol_name(size_t p)
{
	return proto_setting_to_string((enum reading_protocol) p);
}

static const char *const meter_type_names[_CONFIG_METER_TYPE_MAX] = {
	[CONFIG_METER_TYPE_EMPRO] = "PhoenixContact-EMPro", [CONFIG_METER_TYPE_SDM630] = "Eastron-SDM630",
	[CONFIG_METER_TYPE_EM24] = "CarloGavazzi-EM24",     [CONFIG_METER_TYPE_SUNSPEC] = "SunSpec",
	[CONFIG_METER_TYPE_DTSU666] = "Chint-DTSU666",      [CONFIG_METER_TYPE_EM340] = "CarloGavazzi-EM340",
};

static const char *const parity_names[_CONFIG_PARITY_MAX] = {
	[CONFIG_PARITY_NONE] = "N",
	[CONFIG_PARITY_EVEN] = "E",
	[CONFIG_PARITY_ODD] = "O",
};

static const char *const grid_names[] = {
	[DECODE_GRID_AUTO] = "auto",
	[DECODE_GRID_WYE] = "wye",
	[DECODE_GRID_DELTA] = "delta",
};

static const char *const netif_names[_CONFIG_NETIF_MAX] = {
	[CONFIG_NETIF_ETHERNET] = "Ethernet",
	[CONFIG_NETIF_WIFI] = "WiFi",
};

static const char *const ip_mode_names[_CONFIG_IP_MODE_MAX] = {
	[CONFIG_IP_MODE_DHCP] = "DHCP",
	[CONFIG_IP_MODE_STATIC] = "Static",
};

static const char *const net_manage_names[_CONFIG_NET_MANAGE_MAX] = {
	[CONFIG_NET_MANAGE_NO] = "no",
	[CONFIG_NET_MANAGE_NETWORKMANAGER] = "networkmanager",
};

static const char *const log_level_names[] = {
	[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

/* ---- the table ---------------------------------------------------------------------------- */

/* One row: section, key, type, default, field, apply mask, then optional extras. */
#define KEY(sec, name, t, def_, f, apply_, ...)                                                 \
	{                                                                                       \
		.section = (sec), .key = (name), .type = (t), .def = (def_),                    \
		.offset = offsetof(struct config, f), .size = sizeof(((struct config *) 0)->f), \
		.apply = (apply_), __VA_ARGS__                                                  \
	}
#define NAMES(t) .names = (t), .n_names = ARRAY_SIZE(t)

/* Grouped by section, in the order of the shipped file. */
const struct conf_key conf_keys[] = {
	KEY("Daemon", "LogLevel", &conf_enum, "info", log_level, CONFIG_APPLY_LOG, NAMES(log_level_names)),
	KEY("Daemon", "LogSummaryInterval", &conf_seconds, "60", log_summary_sec,
	    CONFIG_APPLY_METER | CONFIG_APPLY_MBSRV | CONFIG_APPLY_PASSTHROUGH, .min = 1, .max = 86400),

	KEY("Meter", "Device", &conf_meter_device, "/dev/ttyUSB0", device, CONFIG_APPLY_TTY),
	KEY("Meter", "Protocol", &conf_enum, "auto", protocol, CONFIG_APPLY_TTY, .name_of = protocol_name,
	    .n_names = _READING_PROTO_MAX),
	KEY("Meter", "StaleAfter", &conf_seconds, "0", stale_after_sec, CONFIG_APPLY_METER, .min = 0,
	    .max = 86400),
	KEY("Meter", "UtcOffset", &conf_utc_offset, "+01:00", utc_offset_min, CONFIG_APPLY_METER),
	KEY("Meter", "Grid", &conf_enum, "auto", grid, CONFIG_APPLY_METER, NAMES(grid_names)),
	KEY("Meter", "DecryptionKey", &conf_string, "", decryption_key, CONFIG_APPLY_METER,
	    .flags = CONF_SECRET | CONF_EMPTY_OK),
	KEY("Meter", "AuthenticationKey", &conf_string, "", authentication_key, CONFIG_APPLY_METER,
	    .flags = CONF_SECRET | CONF_EMPTY_OK),

	KEY("Modbus", "Listen", &conf_listen, "0.0.0.0:502", modbus_listen, CONFIG_APPLY_MBSRV),
	KEY("Modbus", "MeterType", &conf_enum, "PhoenixContact-EMPro", meter_type, CONFIG_APPLY_MBSRV,
	    NAMES(meter_type_names)),
	KEY("Modbus", "MaxClients", &conf_uint, "16", modbus_max_clients, CONFIG_APPLY_MBSRV, .min = 1,
	    .max = 1024),
	KEY("Modbus", "MaxClientsPerIP", &conf_uint, "8", modbus_max_per_ip, CONFIG_APPLY_MBSRV, .min = 1,
	    .max = 1024),
	KEY("Modbus", "IdleTimeout", &conf_seconds, "120", modbus_idle_sec, CONFIG_APPLY_MBSRV, .min = 0,
	    .max = 86400),
	KEY("Modbus", "StalePolicy", &conf_enum, "error", modbus_stale_policy, CONFIG_APPLY_MBSRV,
	    NAMES(modbus_server_stale_policy_names)),
	KEY("Modbus", "Framing", &conf_enum, "auto", modbus_framing, CONFIG_APPLY_MBSRV,
	    NAMES(modbus_framing_names)),

	KEY("ModbusRTU", "Device", &conf_path, "", rtu_device, CONFIG_APPLY_MBRTU, .flags = CONF_EMPTY_OK),
	KEY("ModbusRTU", "Baud", &conf_uint, "9600", rtu_baud, CONFIG_APPLY_MBRTU, .min = 1200,
	    .max = 115200),
	KEY("ModbusRTU", "Parity", &conf_enum, "N", rtu_parity, CONFIG_APPLY_MBRTU, NAMES(parity_names)),
	KEY("ModbusRTU", "StopBits", &conf_uint, "1", rtu_stop_bits, CONFIG_APPLY_MBRTU, .min = 1, .max = 2),
	KEY("ModbusRTU", "UnitId", &conf_uint, "1", rtu_unit_id, CONFIG_APPLY_MBRTU, .min = 1, .max = 247),
	KEY("ModbusRTU", "MeterType", &conf_enum, "Eastron-SDM630", rtu_meter_type, CONFIG_APPLY_MBRTU,
	    NAMES(meter_type_names)),
	KEY("ModbusRTU", "StalePolicy", &conf_enum, "error", rtu_stale_policy, CONFIG_APPLY_MBRTU,
	    NAMES(modbus_server_stale_policy_names)),

	KEY("HTTP", "Listen", &conf_listen, "0.0.0.0:80", http_listen, CONFIG_APPLY_HTTP),
	KEY("HTTP", "User", &conf_string, "user", http_user, CONFIG_APPLY_HTTP, .flags = CONF_NO_COLON),
	KEY("HTTP", "Password", &conf_string, "", http_password, CONFIG_APPLY_HTTP,
	    .flags = CONF_SECRET | CONF_EMPTY_OK),
	KEY("HTTP", "PasswordFile", &conf_path, "", http_password_file, CONFIG_APPLY_HTTP,
	    .flags = CONF_EMPTY_OK | CONF_READ_FILE),
	KEY("HTTP", "Certificate", &conf_path, "", http_certificate, CONFIG_APPLY_HTTP,
	    .flags = CONF_EMPTY_OK | CONF_READ_FILE),
	KEY("HTTP", "Key", &conf_path, "", http_key, CONFIG_APPLY_HTTP,
	    .flags = CONF_EMPTY_OK | CONF_READ_FILE),
	KEY("HTTP", "ListenTLS", &conf_listen, "", http_listen_tls, CONFIG_APPLY_HTTP,
	    .flags = CONF_EMPTY_OK),
	KEY("HTTP", "RequireTLS", &conf_bool, "no", http_require_tls, CONFIG_APPLY_HTTP),
	KEY("HTTP", "MaxConnections", &conf_uint, "32", http_max_connections, CONFIG_APPLY_HTTP, .min = 1,
	    .max = 1024),
	KEY("HTTP", "MaxConnectionsPerIP", &conf_uint, "8", http_max_per_ip, CONFIG_APPLY_HTTP, .min = 1,
	    .max = 1024),
	KEY("HTTP", "Timeout", &conf_seconds, "30", http_timeout_sec, CONFIG_APPLY_HTTP, .min = 1,
	    .max = 3600),
	KEY("HTTP", "MetricsAuth", &conf_bool, "yes", http_metrics_auth, CONFIG_APPLY_HTTP),
	KEY("HTTP", "MaxLiveClients", &conf_uint, "8", http_max_live_clients, CONFIG_APPLY_HTTP, .min = 0,
	    .max = 64),
	KEY("HTTP", "SessionIdleTimeout", &conf_seconds, "900", http_session_idle_sec, CONFIG_APPLY_HTTP,
	    .min = 1, .max = 86400),
	KEY("HTTP", "AllowedHosts", &conf_hosts, "", http_allowed_hosts, CONFIG_APPLY_HTTP,
	    .flags = CONF_EMPTY_OK),

	KEY("MQTT", "Enabled", &conf_bool, "no", mqtt_enabled, CONFIG_APPLY_MQTT),
	KEY("MQTT", "Broker", &conf_broker, "", mqtt_broker, CONFIG_APPLY_MQTT),
	KEY("MQTT", "Site", &conf_token, "", mqtt_site, CONFIG_APPLY_MQTT, .flags = CONF_EMPTY_OK),
	KEY("MQTT", "Username", &conf_string, "", mqtt_username, CONFIG_APPLY_MQTT, .flags = CONF_EMPTY_OK),
	KEY("MQTT", "Password", &conf_string, "", mqtt_password, CONFIG_APPLY_MQTT,
	    .flags = CONF_SECRET | CONF_EMPTY_OK),
	KEY("MQTT", "CAFile", &conf_file, "", mqtt_ca_file, CONFIG_APPLY_MQTT, .flags = CONF_READ_FILE),
	KEY("MQTT", "CAPath", &conf_file, "", mqtt_ca_path, CONFIG_APPLY_MQTT),
	KEY("MQTT", "CertFile", &conf_file, "", mqtt_cert_file, CONFIG_APPLY_MQTT, .flags = CONF_READ_FILE),
	KEY("MQTT", "KeyFile", &conf_file, "", mqtt_key_file, CONFIG_APPLY_MQTT, .flags = CONF_READ_FILE),
	KEY("MQTT", "KeepAlive", &conf_seconds, "60", mqtt_keepalive_sec, CONFIG_APPLY_MQTT, .min = 5,
	    .max = 3600),
	KEY("MQTT", "ConnectTimeout", &conf_seconds, "15", mqtt_connect_timeout_sec, CONFIG_APPLY_MQTT,
	    .min = 1, .max = 600),
	KEY("MQTT", "CountersInterval", &conf_seconds, "60", mqtt_counters_sec, CONFIG_APPLY_MQTT, .min = 1,
	    .max = 86400),
	KEY("MQTT", "HomeAssistant", &conf_bool, "no", mqtt_homeassistant, CONFIG_APPLY_MQTT),
	KEY("MQTT", "Commands", &conf_bool, "no", mqtt_commands, CONFIG_APPLY_MQTT),
	KEY("MQTT", "DiscoveryPrefix", &conf_token, "homeassistant", mqtt_discovery_prefix,
	    CONFIG_APPLY_MQTT),
	KEY("MQTT", "PingGateway", &conf_host, "auto", mqtt_ping_gateway, CONFIG_APPLY_MQTT,
	    .flags = CONF_EMPTY_OK),
	KEY("MQTT", "PingHost", &conf_host, "", mqtt_ping_host, CONFIG_APPLY_MQTT, .flags = CONF_EMPTY_OK),
	KEY("MQTT", "PingInterval", &conf_seconds, "10", mqtt_ping_sec, CONFIG_APPLY_MQTT, .min = 1,
	    .max = 3600),

	KEY("Device", "Serial", &conf_token, "auto", serial,
	    CONFIG_APPLY_MQTT | CONFIG_APPLY_HTTP | CONFIG_APPLY_MBSRV | CONFIG_APPLY_MBRTU |
		CONFIG_APPLY_MDNS),
	/* "yes" built in, as the shipped file (which only lists the defaults):
	 * without the package's units or a system bus the API says why it cannot. */
	KEY("Device", "Updates", &conf_bool, "yes", device_updates, CONFIG_APPLY_DEVICE),

	KEY("Passthrough", "Listen", &conf_listen, "", passthrough_listen, CONFIG_APPLY_PASSTHROUGH,
	    .flags = CONF_EMPTY_OK),
	KEY("Passthrough", "ValidOnly", &conf_bool, "no", passthrough_valid_only, CONFIG_APPLY_PASSTHROUGH),
	KEY("Passthrough", "Decrypted", &conf_bool, "no", passthrough_decrypted, CONFIG_APPLY_PASSTHROUGH),
	KEY("Passthrough", "MaxClients", &conf_uint, "16", passthrough_max_clients, CONFIG_APPLY_PASSTHROUGH,
	    .min = 1, .max = 1024),
	KEY("Passthrough", "QueueSize", &conf_uint, "65536", passthrough_queue_size, CONFIG_APPLY_PASSTHROUGH,
	    .min = 16384, .max = 16777216),
	KEY("Passthrough", "AllowFrom", &conf_allow, "", passthrough_allow, CONFIG_APPLY_PASSTHROUGH),
	KEY("Passthrough", "Device", &conf_path, "", passthrough_device, CONFIG_APPLY_PASSTHROUGH,
	    .flags = CONF_EMPTY_OK),

	/* Apply flag HTTP: the daemon applies them with the HTTP servers, and mDNS follows. */
	KEY("HomeWizard", "Enabled", &conf_bool, "no", homewizard_enabled,
	    CONFIG_APPLY_HTTP | CONFIG_APPLY_MDNS),
	KEY("HomeWizard", "Listen", &conf_listen, "", homewizard_listen,
	    CONFIG_APPLY_HTTP | CONFIG_APPLY_MDNS, .flags = CONF_EMPTY_OK),
	KEY("HomeWizard", "AllowFrom", &conf_allow, "", homewizard_allow, CONFIG_APPLY_HTTP),

	KEY("History", "SaveInterval", &conf_seconds, "3600", history_save_sec, CONFIG_APPLY_HISTORY,
	    .min = 0, .max = 86400),

	/* Applied through NetworkManager with Manage=networkmanager, only stored otherwise. */
	KEY("Network", "Manage", &conf_enum, "no", net_manage, CONFIG_APPLY_NETWORK, NAMES(net_manage_names)),
	KEY("Network", "EthernetInterface", &conf_token, "auto", eth_ifname, CONFIG_APPLY_NETWORK),
	KEY("Network", "WiFiInterface", &conf_token, "auto", wifi_ifname, CONFIG_APPLY_NETWORK),
	KEY("Network", "ConfirmTimeout", &conf_seconds, "120", net_confirm_sec, CONFIG_APPLY_NETWORK,
	    .min = 10, .max = 3600),
	KEY("Network", "Hostname", &conf_dns_label, "auto", net_hostname, CONFIG_APPLY_NETWORK),
	KEY("Network", "DefaultNetIf", &conf_enum, "Ethernet", netif, CONFIG_APPLY_NETWORK,
	    NAMES(netif_names)),
	KEY("Network", "EthernetIpMode", &conf_enum, "DHCP", eth.mode, CONFIG_APPLY_NETWORK,
	    NAMES(ip_mode_names)),
	KEY("Network", "EthernetAddress", &conf_ipv4, "", eth.address, CONFIG_APPLY_NETWORK,
	    .flags = CONF_EMPTY_OK),
	KEY("Network", "EthernetNetmask", &conf_netmask, "24", eth.prefix, CONFIG_APPLY_NETWORK),
	KEY("Network", "EthernetGateway", &conf_ipv4, "", eth.gateway, CONFIG_APPLY_NETWORK,
	    .flags = CONF_EMPTY_OK),
	KEY("Network", "EthernetDNS", &conf_ipv4, "", eth.dns, CONFIG_APPLY_NETWORK, .flags = CONF_EMPTY_OK),
	KEY("Network", "WiFiSSID", &conf_string, "", wifi_ssid, CONFIG_APPLY_NETWORK, .flags = CONF_EMPTY_OK),
	KEY("Network", "WiFiPassword", &conf_string, "", wifi_password, CONFIG_APPLY_NETWORK,
	    .flags = CONF_SECRET | CONF_EMPTY_OK),
	KEY("Network", "WiFiIpMode", &conf_enum, "DHCP", wifi.mode, CONFIG_APPLY_NETWORK,
	    NAMES(ip_mode_names)),
	KEY("Network", "WiFiAddress", &conf_ipv4, "", wifi.address, CONFIG_APPLY_NETWORK,
	    .flags = CONF_EMPTY_OK),
	KEY("Network", "WiFiNetmask", &conf_netmask, "24", wifi.prefix, CONFIG_APPLY_NETWORK),
	KEY("Network", "WiFiGateway", &conf_ipv4, "", wifi.gateway, CONFIG_APPLY_NETWORK,
	    .flags = CONF_EMPTY_OK),
	KEY("Network", "WiFiDNS", &conf_ipv4, "", wifi.dns, CONFIG_APPLY_NETWORK, .flags = CONF_EMPTY_OK),

	KEY("Indicator", "Path", &conf_path, "/sys/class/leds", indicator_path, CONFIG_APPLY_DEVICE),
	KEY("Indicator", "Red", &conf_led_name, "", indicator_red, CONFIG_APPLY_DEVICE,
	    .flags = CONF_EMPTY_OK),
	KEY("Indicator", "Green", &conf_led_name, "", indicator_green, CONFIG_APPLY_DEVICE,
	    .flags = CONF_EMPTY_OK),
	KEY("Indicator", "Blue", &conf_led_name, "", indicator_blue, CONFIG_APPLY_DEVICE,
	    .flags = CONF_EMPTY_OK),
	KEY("Indicator", "Multicolor", &conf_led_name, "", indicator_multicolor, CONFIG_APPLY_DEVICE,
	    .flags = CONF_EMPTY_OK),
	KEY("Button", "Device", &conf_path, "", button_device, CONFIG_APPLY_DEVICE, .flags = CONF_EMPTY_OK),
	KEY("Button", "Key", &conf_key_code, "KEY_RESTART", button_key, CONFIG_APPLY_DEVICE),

	KEY("mDNS", "Enabled", &conf_bool, "yes", mdns_enabled, CONFIG_APPLY_MDNS),
	KEY("mDNS", "Name", &conf_dns_label, "smart-connect", mdns_name, CONFIG_APPLY_MDNS),
};

const size_t conf_n_keys = ARRAY_SIZE(conf_keys);
_Static_assert(ARRAY_SIZE(conf_keys) <= CONF_KEYS_MAX, "raise CONF_KEYS_MAX");

const char *config_meter_type_to_string(enum config_meter_type t)
{
	return (unsigned) t < ARRAY_SIZE(meter_type_names) ? meter_type_names[t] : NULL;
}

const char *config_parity_to_string(enum config_parity p)
{
	return (unsigned) p < ARRAY_SIZE(parity_names) ? parity_names[p] : NULL;
}

const char *config_grid_to_string(enum decode_grid g)
{
	return (unsigned) g < ARRAY_SIZE(grid_names) ? grid_names[g] : NULL;
}
