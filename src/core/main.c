/* SPDX-License-Identifier: MIT */
/*
 * smartconnectd: command line, configuration load, then the daemon object.
 * Exit status: 0 clean stop, 1 runtime failure, 2 usage or configuration error.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "smartconnectd/core/config.h"
#include "smartconnectd/core/daemon.h"
#include "smartconnectd/core/device-identity.h"
#include "smartconnectd/base/log.h"
#include "smartconnectd/outputs/httpd.h"
#include "smartconnectd/outputs/https-cert.h"

#define EXIT_USAGE 2

static const char *arg_config = DEFAULT_CONFIG_FILE;
static bool arg_config_given;
static const char *arg_state_dir = DEFAULT_STATE_DIR;
static bool arg_test_config;
static bool arg_dump_config;
static bool arg_make_certificate;
static bool arg_show_certificate;
static unsigned arg_days = HTTPS_CERT_DAYS;
static int arg_log_level = -1;
static enum { IDENTITY_NONE, IDENTITY_KEY, IDENTITY_CSR } arg_identity;

static void help(void)
{
	printf("Usage: smartconnectd [OPTION]...\n"
	       "Read a smart meter (DSMR P1, TIC) from a tty and serve its values.\n\n"
	       "  -c, --config=FILE      configuration file (default " DEFAULT_CONFIG_FILE ")\n"
	       "  -s, --state-dir=DIR    state directory (default " DEFAULT_STATE_DIR ")\n"
	       "  -t, --test-config      check the configuration, print it and exit\n"
	       "      --dump-config      print the built-in defaults of every key and exit\n"
	       "      --generate-key     make the device key in the state directory unless\n"
	       "                         there is one, and exit\n"
	       "      --csr              print a certificate signing request for the device\n"
	       "                         key with CN = the serial, and exit\n"
	       "      --make-certificate make the HTTPS key and self-signed certificate in the\n"
	       "                         state directory when missing, renew the certificate\n"
	       "                         when due, print its fingerprint and exit\n"
	       "      --days=N           validity of a new certificate (default %u)\n"
	       "      --show-certificate print the HTTPS certificate's SHA-256 fingerprint,\n"
	       "                         validity and names and exit\n"
	       "  -l, --log-level=LEVEL  error, warning, notice, info or debug;\n"
	       "                         overrides [Daemon] LogLevel=\n"
	       "  -h, --help             show this help and exit\n"
	       "      --version          show the version and exit\n\n"
	       "Exit status: 0 stopped cleanly, 1 runtime failure, 2 usage or configuration error.\n"
	       "See smartconnectd(8) and smartconnect.conf(5).\n",
	       HTTPS_CERT_DAYS);
}

/* Returns 1 to go on, 0 to exit successfully, -EINVAL on a usage error (reported). */
/* Paths are shown in the API and the log, which speak UTF-8. */
static int check_paths(void)
{
	if ((arg_config && !config_text_is_utf8(arg_config)) ||
	    (arg_state_dir && !config_text_is_utf8(arg_state_dir))) {
		log_error("--config and --state-dir must be UTF-8 text");
		return -EINVAL;
	}
	return 1;
}

static int parse_days(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < 1 || v > HTTPS_CERT_DAYS_MAX) {
		log_error("--days: expected a number of days from 1 to %d, got '%s'", HTTPS_CERT_DAYS_MAX, s);
		return -EINVAL;
	}
	arg_days = (unsigned) v;
	return 0;
}

static int parse_log_level(const char *s)
{
	arg_log_level = log_level_from_string(s);
	if (arg_log_level < 0) {
		log_error("Unknown log level '%s', expected error, warning, notice, info or debug", s);
		return -EINVAL;
	}
	return 0;
}

enum {
	ARG_VERSION = 0x100,
	ARG_DUMP_CONFIG,
	ARG_MAKE_CERT,
	ARG_SHOW_CERT,
	ARG_DAYS,
	ARG_GENERATE_KEY,
	ARG_CSR
};
static const struct option argv_options[] = { { "config", required_argument, NULL, 'c' },
					      { "state-dir", required_argument, NULL, 's' },
					      { "test-config", no_argument, NULL, 't' },
					      { "dump-config", no_argument, NULL, ARG_DUMP_CONFIG },
					      { "make-certificate", no_argument, NULL, ARG_MAKE_CERT },
					      { "show-certificate", no_argument, NULL, ARG_SHOW_CERT },
					      { "days", required_argument, NULL, ARG_DAYS },
					      { "generate-key", no_argument, NULL, ARG_GENERATE_KEY },
					      { "csr", no_argument, NULL, ARG_CSR },
					      { "log-level", required_argument, NULL, 'l' },
					      { "help", no_argument, NULL, 'h' },
					      { "version", no_argument, NULL, ARG_VERSION },
					      {} };

static int parse_argv(int argc, char *argv[])
{
	int c;

	while ((c = getopt_long(argc, argv, "c:s:tl:h", argv_options, NULL)) >= 0) {
		switch (c) {
		case 'c':
			arg_config = optarg;
			arg_config_given = true;
			break;
		case 's':
			arg_state_dir = optarg;
			break;
		case 't':
			arg_test_config = true;
			break;
		case ARG_DUMP_CONFIG:
			arg_dump_config = true;
			break;
		case ARG_GENERATE_KEY:
		case ARG_CSR:
			arg_identity = c == ARG_CSR ? IDENTITY_CSR : IDENTITY_KEY;
			break;
		case ARG_MAKE_CERT:
		case ARG_SHOW_CERT:
			*(c == ARG_MAKE_CERT ? &arg_make_certificate : &arg_show_certificate) = true;
			break;
		case ARG_DAYS:
			if (parse_days(optarg) < 0)
				return -EINVAL;
			break;
		case 'l':
			if (parse_log_level(optarg) < 0)
				return -EINVAL;
			break;
		case 'h':
		case ARG_VERSION:
			c == 'h' ? help() : (void) printf("smartconnectd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			/* getopt has said what was wrong. */
			fprintf(stderr, "Try 'smartconnectd --help' for more information.\n");
			return -EINVAL;
		}
	}

	if (optind < argc) {
		log_error("Unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	return check_paths();
}

static void on_config_error(const char *message, void *userdata)
{
	(void) userdata;
	log_error("%s", message);
}

/* Load and validate the configuration; errors are reported and mean exit 2. */
static int load_config(struct config **ret)
{
	int r;

	r = config_load(arg_config, on_config_error, NULL, ret);
	if (r == -ENOENT && !arg_config_given) {
		log_notice("'%s' not found, using built-in defaults", arg_config);
		*ret = config_new();
		return *ret ? 0 : log_oom();
	}
	if (r == -ENOENT)
		return log_error_errno(r, "Cannot open '%s': %m", arg_config);
	if (r < 0)
		log_error("Configuration '%s' is invalid, not starting", arg_config);
	return r;
}

/* The defaults in the file's syntax: a template for the admin, the key list for the man page test. */
static int dump_defaults(void)
{
	struct config *c = config_new();
	int r;

	if (!c) {
		log_oom();
		return EXIT_FAILURE;
	}
	r = config_dump(c, stdout, false);
	config_free(c);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* --generate-key: the device key in the state directory, made once. */
static int generate_key(void)
{
	char path[PATH_MAX];
	int r;

	if (snprintf(path, sizeof(path), "%s/%s", arg_state_dir, DEVICE_KEY_FILE) >= (int) sizeof(path)) {
		log_error("--state-dir is too long");
		return EXIT_USAGE;
	}
	r = device_key_generate(path);
	if (r == -EEXIST) {
		log_info("The device key '%s' is there already, left as it is", path);
		return EXIT_SUCCESS;
	}
	if (r < 0) {
		log_error_errno(r, "Cannot make the device key '%s': %m", path);
		return EXIT_FAILURE;
	}
	log_info("Made the device key '%s'", path);
	return EXIT_SUCCESS;
}

/* The options that only need the configuration: --make-certificate,
 * --show-certificate, --test-config. Takes c. */
static int config_tool(struct config *c)
{
	int r;

	if (arg_make_certificate || arg_show_certificate)
		r = arg_make_certificate ? daemon_make_certificate(c, arg_state_dir, arg_days)
					 : daemon_show_certificate(c, arg_state_dir);
	else {
		printf("# %s: configuration OK\n", arg_config);
		r = config_dump(c, stdout, false);
	}
	config_free(c);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Process-wide memory settings, before the daemon object and its servers. */
static void memory_setup(void)
{
	/* glibc raises its mmap threshold to the largest mapped block freed (the
	 * history file's read buffer, a long history answer), after which every
	 * block below it comes from the heap and stays resident after free(), and
	 * the heap's top is no longer trimmed. A fixed threshold (the default
	 * value) keeps large blocks in mappings that free() gives back. */
	(void) mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	/* Before any server: an HTTPS instance takes a reference of its own. What
	 * GnuTLS gives back lies under everything allocated at load: the trim
	 * returns its pages, so the blocks that land there later touch only what
	 * they use. */
	httpd_tls_library_release();
	(void) malloc_trim(0);
}

int main(int argc, char *argv[])
{
	_cleanup_(daemon_freep) struct daemon *d = NULL;
	struct config *c = NULL;
	int r;

	log_open();

	r = parse_argv(argc, argv);
	if (r <= 0)
		return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;
	if (arg_log_level >= 0)
		log_set_max_level(arg_log_level);

	if (arg_dump_config)
		return dump_defaults();
	/* Before the configuration: the package's postinst must not fail on a broken one. */
	if (arg_identity == IDENTITY_KEY)
		return generate_key();

	r = load_config(&c);
	if (r < 0)
		return r == -ENOMEM ? EXIT_FAILURE : EXIT_USAGE;

	if (arg_make_certificate || arg_show_certificate || arg_test_config)
		return config_tool(c);

	/* A closed stderr or, later, a peer that went away must not kill the daemon. */
	(void) signal(SIGPIPE, SIG_IGN);

	memory_setup();

	r = daemon_new(c, arg_config, !arg_config_given, arg_state_dir, arg_log_level, &d);
	if (r < 0) {
		log_oom();
		return EXIT_FAILURE;
	}

	/* A broken overrides file is a configuration error, like a broken config file. */
	r = daemon_load_overrides(d);
	if (r < 0)
		return r == -ENOMEM ? EXIT_FAILURE : EXIT_USAGE;

	/* With the overrides: the serial and KeyFile= may come from the API. */
	if (arg_identity == IDENTITY_CSR)
		return daemon_write_csr(d, stdout) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

	(void) mosquitto_lib_init();
	r = daemon_start(d);
	if (r >= 0)
		r = daemon_run(d);
	d = daemon_free(d);
	(void) mosquitto_lib_cleanup();
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
