#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
The man pages: groff and man render each without a warning, none is a
placeholder, and every option a program's --help lists is documented in its
page. With SMARTCONNECTD and CONF_FILE set: every key that
`smartconnectd --dump-config` prints is documented in smartconnect.conf(5)
with its default and its reload behaviour, and appears commented out with its
default in the shipped configuration file.

usage: test-man.py MAN_DIR [PROGRAM...]   (groff and man on PATH)
Prints TAP.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

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
        man_warnings(tap, page, name)

    for prog in PROGRAMS:
        name = os.path.basename(prog)
        page = glob.glob(os.path.join(MAN_DIR, name + ".[1-8]"))[0]
        with open(page, encoding="utf-8") as f:
            text = f.read().replace("\\-", "-")
        out = subprocess.run([prog, "--help"], capture_output=True, text=True, timeout=30).stdout
        options = sorted(set(re.findall(r"--[a-z][a-z-]*", out)))
        tap.ok(options, f"{name} --help lists options")
        for opt in options:
            tap.ok(opt in text, f"{name}: {opt} is in {os.path.basename(page)}")

    if os.environ.get("SMARTCONNECTD"):
        config_keys(tap, os.environ["SMARTCONNECTD"], os.environ["CONF_FILE"])


def man_warnings(tap, page, name):
    """What lintian's groff-message check runs."""
    man = shutil.which("man")
    if not tap.ok(man, f"{name}: man is installed (man-db)"):
        return
    env = dict(os.environ, LC_ALL="C.UTF-8", MANROFFSEQ="", MANWIDTH="80")
    p = subprocess.run([man, "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", page],
                       capture_output=True, text=True, env=env)
    tap.ok(p.returncode == 0 and p.stderr == "", f"{name}: man --warnings reports nothing", p.stderr)


def dump_config(daemon):
    """[(section, key, default)] in the program's order, from its key table."""
    out = subprocess.run([daemon, "--dump-config"], capture_output=True, text=True, timeout=30,
                         check=True).stdout
    keys, section = [], None
    for line in out.splitlines():
        if m := re.fullmatch(r"\[(\w+)\]", line):
            section = m.group(1)
        elif m := re.fullmatch(r"(\w+)=(.*)", line):
            value = m.group(2)
            if value.startswith('"'):
                value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            keys.append((section, m.group(1), value))
    return keys


def roff_text(text):
    """The words of a piece of man page source, without requests and escapes."""
    text = re.sub(r"^\.(?:B|I|BR|RB|BI|IB|IR|RI)\s+", "", text, flags=re.M)
    text = re.sub(r"^\.\w+.*$", "", text, flags=re.M)
    text = re.sub(r"\\f[BIRP]", "", text)
    for esc, char in (("\\-", "-"), ("\\(+-", "+-"), ("\\(mu", "x"), ("\\e", "\\"), ('"', "")):
        text = text.replace(esc, char)
    return " ".join(text.split())


def man_entries(page):
    """{(section, key): text of its .TP entry} of smartconnect.conf(5)."""
    with open(page, encoding="utf-8") as f:
        src = f.read()
    entries = {}
    for part in re.split(r"^\.SH ", src, flags=re.M)[1:]:
        head, _, body = part.partition("\n")
        m = re.fullmatch(r"\[(\w+)\]", head.strip().strip('"'))
        if not m:
            continue
        for tp in re.split(r"^\.TP\n", body, flags=re.M)[1:]:
            # An entry may name several keys: ".TP .BI A= ... .TQ .BI B= ...".
            for k in re.finditer(r"(?:\A|^\.TQ\n)\.BI? (\w+)=", tp, flags=re.M):
                entries[(m.group(1), k.group(1))] = roff_text(tp)
    return entries


def conf_entries(path):
    """{(section, key): value} of the commented-out keys of the shipped file."""
    entries, section = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if m := re.fullmatch(r"\[(\w+)\]", line):
                section = m.group(1)
            elif m := re.fullmatch(r"#(\w+)=(.*)", line):
                entries[(section, m.group(1))] = m.group(2)
    return entries


def config_keys(tap, daemon, conf_file):
    keys = dump_config(daemon)
    tap.ok(len(keys) >= 20, f"smartconnectd --dump-config prints {len(keys)} keys")
    # What it prints is a valid file, and the daemon reads it back as the same settings.
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
        f.write(subprocess.run([daemon, "--dump-config"], capture_output=True, text=True, check=True).stdout)
        f.flush()
        p = subprocess.run([daemon, "--test-config", "--config", f.name], capture_output=True, text=True)
    back = "\n".join(line for line in p.stdout.splitlines() if not line.startswith("#"))
    want = subprocess.run([daemon, "--dump-config"], capture_output=True, text=True).stdout.rstrip("\n")
    tap.ok(p.returncode == 0 and back == want, "--dump-config output passes --test-config unchanged",
           p.stderr or back)
    page = os.path.join(MAN_DIR, "smartconnect.conf.5")
    documented = man_entries(page)
    shipped = conf_entries(conf_file)
    for section, key, default in keys:
        name = f"[{section}] {key}="
        text = documented.get((section, key))
        if not tap.ok(text, f"smartconnect.conf.5 documents {name}"):
            continue
        said = text.partition("Default:")[2].partition("Reload:")[0].strip(" .")
        tap.ok(said.split(" (")[0] == (default or "empty"),
               f"smartconnect.conf.5: {name} default is {default or 'empty'}", f"page says: {said!r}")
        reload = text.partition("Reload:")[2].strip()
        tap.ok(reload, f"smartconnect.conf.5: {name} says what a reload does")
        tap.ok((section, key) in shipped, f"{os.path.basename(conf_file)} lists {name}")
        if (section, key) in shipped:
            tap.eq(shipped[(section, key)], default, f"{os.path.basename(conf_file)}: {name} shows the default")


main_guard(main)
