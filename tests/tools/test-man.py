#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
The man pages: groff renders each without a warning, none is a placeholder,
and every option a tool's --help lists is documented in its page.

usage: test-man.py MAN_DIR [PROGRAM...]   (groff on PATH)
Prints TAP.
"""
import glob
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from taplib import main_guard  # noqa: E402

MAN_DIR = sys.argv[1]
PROGRAMS = sys.argv[2:]


def main(tap):
    pages = sorted(glob.glob(os.path.join(MAN_DIR, "*.[1-8]")))
    tap.ok(len(pages) >= 4, f"found {len(pages)} man pages")
    for page in pages:
        name = os.path.basename(page)
        with open(page, encoding="utf-8") as f:
            text = f.read()
        tap.ok(".TH " in text and ".SH NAME" in text and ".SH SEE ALSO" in text,
               f"{name}: has .TH, NAME and SEE ALSO")
        p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", page], capture_output=True, text=True)
        tap.ok(p.returncode == 0 and p.stderr == "", f"{name}: groff -man -ww reports nothing", p.stderr)

    for prog in PROGRAMS:
        name = os.path.basename(prog)
        page = os.path.join(MAN_DIR, name + ".1")
        with open(page, encoding="utf-8") as f:
            text = f.read().replace("\\-", "-")
        out = subprocess.run([prog, "--help"], capture_output=True, text=True, timeout=30).stdout
        options = sorted(set(re.findall(r"--[a-z][a-z-]*", out)))
        tap.ok(options, f"{name} --help lists options")
        for opt in options:
            tap.ok(opt in text, f"{name}: {opt} is in {name}.1")


main_guard(main)
