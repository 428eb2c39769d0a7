/* SPDX-License-Identifier: MIT */
/*
 * Build-time generator: turns a file (the web page) into a C source file
 * defining `const unsigned char NAME[]` and `const size_t NAME_len`, so the
 * daemon serves it without reading anything at run time.
 *
 *   embed-gen NAME INPUT > output.c
 */
#include <stdio.h>

int main(int argc, char *argv[])
{
	unsigned long n = 0;
	FILE *f;
	int c;

	if (argc != 3) {
		fprintf(stderr, "usage: embed-gen NAME INPUT\n");
		return 2;
	}
	f = fopen(argv[2], "rb");
	if (!f) {
		perror(argv[2]);
		return 1;
	}
	printf("/* Generated from %s by embed-gen. */\n#include <stddef.h>\n\n", argv[2]);
	printf("const unsigned char %s[] = {", argv[1]);
	while ((c = fgetc(f)) != EOF)
		printf("%s0x%02x,", n++ % 16 ? " " : "\n\t", (unsigned) c);
	if (ferror(f)) {
		perror(argv[2]);
		return 1;
	}
	fclose(f);
	/* An empty file still needs one element; the length says 0. */
	printf("%s};\nconst size_t %s_len = %lu;\n", n ? "\n" : "0", argv[1], n);
	return 0;
}
