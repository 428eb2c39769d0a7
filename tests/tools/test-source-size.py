#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The source stays readable in small pieces: no file in src/ over 800 lines
and no function over 60 lines (from the line of its name to its closing
brace). Functions are found as the project's style writes them: the body's
opening brace and its closing brace each alone in column 0."""

import os
import re
import sys

MAX_FILE = 800
MAX_FUNCTION = 60


def functions(lines):
    """(name, first line, length) of each function definition: a '{' alone in
    column 0 right after a line ending in ')', the signature."""
    i = 0
    while i < len(lines):
        if lines[i].rstrip("\n") == "{" and i > 0 and lines[i - 1].rstrip().endswith(")"):
            j = i - 1
            while j > 0 and lines[j][:1] in (" ", "\t"):  # continuation lines of the signature
                j -= 1
            m = re.search(r"\b(\w+)\s*\(", lines[j])
            k = i + 1
            while k < len(lines) and not lines[k].startswith("}"):
                k += 1
            yield (m.group(1) if m else "?"), j + 1, k - j + 1
            i = k
        i += 1


def main():
    root = sys.argv[1]
    n, failed = 0, 0
    for dirpath, _, names in sorted(os.walk(os.path.join(root, "src"))):
        for name in sorted(names):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            with open(path, encoding="utf-8") as f:
                lines = f.readlines()
            long_funcs = [(fn, at, length) for fn, at, length in functions(lines) if length > MAX_FUNCTION]
            n += 1
            ok = len(lines) <= MAX_FILE and not long_funcs
            failed += not ok
            what = ", ".join("%s() at line %d has %d lines" % f for f in long_funcs)
            print("%s %d - %s: %d lines%s" % ("ok" if ok else "not ok", n, rel, len(lines),
                                               "; " + what if what else ""))
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
