#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Decode benchmark: time, instructions and allocations per telegram.

Runs bench-decode on three reference captures and prints one table:

  - ns/telegram: best of three runs of many iterations (feed time only);
  - instructions/telegram: callgrind Ir at N=1010 minus Ir at N=10, divided by
    the telegrams in between, so process start-up and set-up cancel out;
  - allocs/telegram: memcheck's heap allocation count, same subtraction.

The goal of the decoder is at most 25,000 instructions per DSMR 5 telegram,
CRC and normalisation included, and no allocation per telegram.

usage: bench-decode.py BENCH_EXE TESTDATA_DIR [--iterations N] [--annotate] [--strict]
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

# (label, file, held to the goal, encrypted: sealed by bench-decode first)
AT_PLAIN = "dsmr/at_dsmr50_sagemcom-t210-d-r_dsmrparser.raw"
FILES = [
    ("DSMR 5", "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw", True, False),
    ("E-MUCS 3-phase, capacity history", "dsmr/be_emucs_fluvius_capacity-history_dsmrparser.raw", False, False),
    ("TIC standard 3-phase", "tic/fr_tic-standard_three-phase_tempo_teleinfo-nom.raw", False, False),
    ("Austrian DSMR 5, plain", AT_PLAIN, False, False),
    ("the same, encrypted (AES-128-GCM)", AT_PLAIN, False, True),
]

GOAL_INSTRUCTIONS = 25000
LOW_N, HIGH_N = 10, 1010


def bench_cmd(exe, path, n, encrypted):
    return [exe, path, str(n)] + (["encrypt"] if encrypted else [])


def run_bench(cmd):
    """Run bench-decode (possibly under valgrind) and return its key=value line."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if p.returncode != 0:
        raise RuntimeError("{} failed ({}):\n{}{}".format(" ".join(cmd), p.returncode, p.stdout, p.stderr))
    line = p.stdout.strip().splitlines()[-1]
    return dict(kv.split("=", 1) for kv in line.split()), p.stderr


def time_per_telegram(exe, path, iterations, encrypted=False):
    best = None
    for _ in range(3):
        kv, _ = run_bench(bench_cmd(exe, path, iterations, encrypted))
        ns = float(kv["ns_per_telegram"])
        best = ns if best is None else min(best, ns)
    return best


def callgrind_ir(exe, path, n, tmp, keep=None, encrypted=False):
    out = os.path.join(tmp, "callgrind.out.{}".format(n))
    # Sealing the frames is the harness's work: count the framer's only.
    toggle = ["--toggle-collect=telegram_feed"] if encrypted else []
    kv, _ = run_bench(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + toggle +
                      bench_cmd(exe, path, n, encrypted))
    ir = None
    with open(out) as f:
        for line in f:
            m = re.match(r"(?:summary|totals):\s+(\d+)", line)
            if m:
                ir = int(m.group(1))
    if ir is None:
        raise RuntimeError("no instruction total in " + out)
    if keep is not None:
        keep.append(out)
    return ir, int(kv["accepted"])


def memcheck_allocs(exe, path, n):
    kv, err = run_bench(["valgrind", "--tool=memcheck", "--leak-check=no", exe, path, str(n)])
    m = re.search(r"total heap usage: ([\d,]+) allocs", err)
    if not m:
        raise RuntimeError("no heap summary from memcheck:\n" + err)
    return int(m.group(1).replace(",", "")), int(kv["accepted"])


def per_telegram(low, high):
    (v_low, t_low), (v_high, t_high) = low, high
    if t_high <= t_low:
        raise RuntimeError("no telegrams between the two runs")
    return (v_high - v_low) / (t_high - t_low)


def annotate(out, top):
    """The functions that dominate the instruction count (exclusive Ir)."""
    if not shutil.which("callgrind_annotate"):
        return "callgrind_annotate not found"
    p = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=99", out],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    lines = [l for l in p.stdout.splitlines() if re.match(r"\s*[\d,]+ \(\s*[\d.]+%\)\s+\S", l)]
    # The first line is the program total; drop the object file and the
    # "???:" of objects without debug information.
    return "\n".join(re.sub(r" \[[^]]*\]$", "", l).replace("???:", "") for l in lines[1:top + 1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench_exe")
    ap.add_argument("testdata_dir")
    ap.add_argument("--iterations", type=int, default=200000, help="iterations of each timing run")
    ap.add_argument("--annotate", action="store_true", help="also print the top functions per capture")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    args = ap.parse_args()

    have_valgrind = shutil.which("valgrind") is not None
    rows, failed, profiles = [], False, []

    with tempfile.TemporaryDirectory(prefix="bench-decode-") as tmp:
        for label, rel, is_goal, enc in FILES:
            path = os.path.join(args.testdata_dir, rel)
            size = os.path.getsize(path)
            # Sealed frames live in memory: fewer of them per timing run.
            ns = time_per_telegram(args.bench_exe, path, args.iterations // 10 if enc else args.iterations, enc)

            ir = allocs = None
            if have_valgrind:
                keep = []
                ir = per_telegram(callgrind_ir(args.bench_exe, path, LOW_N, tmp, None, enc),
                                  callgrind_ir(args.bench_exe, path, HIGH_N, tmp, keep, enc))
                # Sealing allocates, decrypting does not; memcheck sees both.
                if not enc:
                    allocs = per_telegram(memcheck_allocs(args.bench_exe, path, LOW_N),
                                          memcheck_allocs(args.bench_exe, path, HIGH_N))
                if args.annotate:
                    profiles.append((label, annotate(keep[0], 15)))

            if ir is None:
                goal = "n/a (no valgrind)"
            else:
                problems = []
                if is_goal and ir > GOAL_INSTRUCTIONS:
                    problems.append("instr > {:,}".format(GOAL_INSTRUCTIONS))
                if allocs is not None and allocs > 0:
                    problems.append("allocates")
                if problems:
                    goal = "FAIL (" + ", ".join(problems) + ")"
                    failed = True
                else:
                    goal = "PASS" if is_goal else "ok" if allocs is None else "ok (no alloc)"
            rows.append((label, os.path.basename(rel), size, ns, ir, allocs, goal))

    header = ("telegram", "file", "bytes", "ns/telegram", "instr/telegram", "allocs/telegram", "goal")
    cells = [header] + [
        (label, name, str(size), "{:.0f}".format(ns),
         "n/a" if ir is None else "{:,.0f}".format(ir),
         "n/a" if allocs is None else "{:g}".format(allocs), goal)
        for label, name, size, ns, ir, allocs, goal in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    right = {2, 3, 4, 5}
    for c in cells:
        print("  ".join(c[i].rjust(widths[i]) if i in right else c[i].ljust(widths[i])
                        for i in range(len(header))).rstrip())
    print("goal: <= {:,} instructions per DSMR 5 telegram (CRC and normalisation included), "
          "0 allocations per telegram".format(GOAL_INSTRUCTIONS))
    plain, enc = rows[-2], rows[-1]
    print("decryption cost per telegram ({} bytes of text): {:.2f} us{}".format(
        plain[2], (enc[3] - plain[3]) / 1000,
        "" if enc[4] is None else ", {:,.0f} instructions".format(enc[4] - plain[4])))

    for label, text in profiles:
        print("\ntop functions, {} (exclusive Ir, N={}):".format(label, HIGH_N))
        print(text)

    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, RuntimeError) as e:
        print("bench-decode.py: {}".format(e), file=sys.stderr)
        sys.exit(2)
