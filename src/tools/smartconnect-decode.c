/* SPDX-License-Identifier: MIT */
/*
 * smartconnect-decode: raw serial bytes in (files or stdin, any protocol, noise
 * allowed), one JSON object per accepted telegram out, one line per rejected
 * frame on stderr. Exit 0 when every frame was accepted, 1 when any was
 * rejected, 2 on a usage or I/O error. See smartconnect-decode(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "smartconnectd/outputs/reading-json.h"
#include "smartconnectd/outputs/reading-json-text.h"
#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/telegram.h"

struct decode_run {
	const char *name; /* file being read, for messages */
	struct decode_opts opts;
	int64_t now; /* fixed host time (--now), or -1 for the clock */
	unsigned accepted, rejected;
	bool output_error;
	char *text; /* READING_JSON_TEXT_TELEGRAM_MAX bytes: one output line */
};

static void decode_on_accept(const struct reading *v, void *userdata)
{
	struct decode_run *run = userdata;
	json_t *j;
	char *s;

	run->accepted++;
	/* Written from the reading into one buffer; the tree only for a frame too odd to fit. */
	if (reading_json_text_telegram(v, &run->opts, run->text, READING_JSON_TEXT_TELEGRAM_MAX) >= 0) {
		if (puts(run->text) == EOF)
			run->output_error = true;
		return;
	}
	j = reading_json_telegram(v, &run->opts);
	s = j ? json_dumps(j, READING_JSON_DUMP_FLAGS) : NULL;
	if (!s || puts(s) == EOF)
		run->output_error = true;
	free(s);
	json_decref(j);
}

static void decode_on_reject(const struct telegram_reject *r, void *userdata)
{
	struct decode_run *run = userdata;
	const char *proto =
	    r->protocol == READING_PROTO_NONE ? "encrypted" : reading_protocol_to_string(r->protocol);

	run->rejected++;
	fprintf(stderr, "smartconnect-decode: %s: byte %" PRIu64 ": rejected %s frame: %s (%s)\n", run->name,
		r->offset, proto, telegram_error_to_string(r->error), r->detail);
}

static int64_t host_now(const struct decode_run *run)
{
	return run->now >= 0 ? run->now : (int64_t) time(NULL);
}

/* Read one input to its end through a fresh framer, so a frame never spans two files. */
static int decode_fd(struct decode_run *run, int fd)
{
	struct telegram *t = NULL;
	uint8_t buf[4096];
	int r = telegram_new(TELEGRAM_HUNT_ALL, &run->opts, decode_on_accept, decode_on_reject, run, &t);

	if (r < 0)
		return r;

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EIO && isatty(fd)) {
			/* A pty whose other side hung up, or an unplugged adapter: end of input. */
			telegram_flush(t);
			break;
		}
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0) {
			telegram_flush(t);
			break;
		}
		telegram_feed(t, buf, (size_t) n, host_now(run));
	}
	telegram_free(t);
	return r;
}

static int decode_path(struct decode_run *run, const char *path)
{
	bool is_stdin = strcmp(path, "-") == 0;
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	int r;

	run->name = is_stdin ? "stdin" : path;
	if (fd < 0) {
		fprintf(stderr, "smartconnect-decode: cannot open %s: %s\n", path, strerror(errno));
		return -errno;
	}

	r = decode_fd(run, fd);
	if (r < 0)
		fprintf(stderr, "smartconnect-decode: cannot read %s: %s\n", run->name, strerror(-r));
	if (!is_stdin)
		close(fd);
	return r;
}

/* "+01:00", "-05:30", "+1" → minutes east of UTC. */
static int parse_utc_offset(const char *s, int *ret)
{
	int sign = 1, h = 0, m = 0;
	char *end;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	h = (int) strtol(s, &end, 10);
	if (end == s)
		return -EINVAL;
	if (*end == ':') {
		s = end + 1;
		m = (int) strtol(s, &end, 10);
		if (end != s + 2)
			return -EINVAL;
	}
	if (*end || h > 14 || m > 59)
		return -EINVAL;
	*ret = sign * (h * 60 + m);
	return 0;
}

/* --key or --auth-key; the message does not repeat the key. */
static int parse_key(int opt, const char *hex, struct dlms_keys *k)
{
	bool enc = opt == 'k';

	if (dlms_key_parse(hex, enc ? k->enc : k->auth) < 0) {
		fprintf(stderr, "smartconnect-decode: --%s needs 32 hexadecimal digits\n",
			enc ? "key" : "auth-key");
		return -EINVAL;
	}
	if (enc)
		k->has_enc = true;
	else
		k->has_auth = true;
	return 0;
}

static void usage(FILE *f)
{
	fputs("Usage: smartconnect-decode [OPTION]... [FILE]...\n"
	      "Decode raw P1 (DSMR, e-MUCS) and TIC meter data into one JSON object per accepted\n"
	      "telegram on stdout; rejected frames are reported on stderr. Reads stdin without FILE.\n\n"
	      "  --utc-offset=+HH:MM  the meter's winter-time UTC offset (default +01:00)\n"
	      "  --now=EPOCH          host time for telegrams without a clock (default: now)\n"
	      "  --key=HEX            decryption key of an encrypted meter (32 hex digits)\n"
	      "  --auth-key=HEX       its authentication key (default: the Luxembourg Smarty key)\n"
	      "  -h, --help           show this help\n"
	      "  -V, --version        show the version\n\n"
	      "Exit status: 0 all frames accepted, 1 a frame was rejected, 2 usage or I/O error.\n",
	      f);
}

static int parse_args(int argc, char **argv, struct decode_run *run)
{
	static const struct option options[] = {
		{ "utc-offset", required_argument, NULL, 'u' },
		{ "now", required_argument, NULL, 'n' },
		{ "key", required_argument, NULL, 'k' },
		{ "auth-key", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	int c;
	char *end;

	while ((c = getopt_long(argc, argv, "hV", options, NULL)) >= 0) {
		switch (c) {
		case 'u':
			if (parse_utc_offset(optarg, &run->opts.std_offset_min) < 0) {
				fprintf(stderr, "smartconnect-decode: bad --utc-offset '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'n':
			errno = 0;
			run->now = strtoll(optarg, &end, 10);
			if (errno || *end || end == optarg || run->now < 0) {
				fprintf(stderr, "smartconnect-decode: bad --now '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'k':
		case 'a':
			if (parse_key(c, optarg, &run->opts.keys) < 0)
				return -EINVAL;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			puts("smartconnect-decode " PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	return 1;
}

int main(int argc, char **argv)
{
	struct decode_run run = { .opts = DECODE_OPTS_DEFAULT, .now = -1 };
	int r = parse_args(argc, argv, &run);

	if (r <= 0)
		return r < 0 ? 2 : 0;
	run.text = malloc(READING_JSON_TEXT_TELEGRAM_MAX);
	if (!run.text) {
		fprintf(stderr, "smartconnect-decode: out of memory\n");
		return 2;
	}

	if (optind >= argc)
		r = decode_path(&run, "-");
	else
		for (int i = optind; i < argc && r >= 0; i++)
			r = decode_path(&run, argv[i]);

	free(run.text);
	if (fflush(stdout) == EOF || run.output_error) {
		fprintf(stderr, "smartconnect-decode: cannot write the output\n");
		return 2;
	}
	if (r < 0)
		return 2;
	return run.rejected ? 1 : 0;
}
