#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""History and capacity benchmark: instructions and allocations per telegram.

Runs bench-history on the e-MUCS capture under callgrind (only bench_step(),
that is history_add() and capacity_add()) and memcheck, at N=10 and N=1010
telegrams, and prints the difference per telegram. The goal: no allocation
per telegram.

usage: bench-history.py BENCH_EXE TESTDATA_DIR
"""

import os
import re
import subprocess
import sys
import tempfile

CAPTURE = "dsmr/be_emucs_fluvius_capacity-history_dsmrparser.raw"
LOW_N, HIGH_N = 10, 1010


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p.stdout, p.stderr


def callgrind_ir(exe, path, n, tmp):
    out = os.path.join(tmp, "callgrind.out.%d" % n)
    run(["valgrind", "--tool=callgrind", "--toggle-collect=bench_step", "--callgrind-out-file=" + out,
         exe, path, str(n)])
    with open(out) as f:
        for line in f:
            m = re.match(r"(?:summary|totals):\s+(\d+)", line)
            if m:
                return int(m.group(1))
    raise RuntimeError("no instruction total in " + out)


def memcheck_allocs(exe, path, n):
    _, err = run(["valgrind", "--tool=memcheck", "--leak-check=no", exe, path, str(n)])
    m = re.search(r"total heap usage: ([\d,]+) allocs", err)
    if not m:
        raise RuntimeError("no heap summary from memcheck:\n" + err)
    return int(m.group(1).replace(",", ""))


def main():
    exe, testdata = sys.argv[1], sys.argv[2]
    path = os.path.join(testdata, CAPTURE)
    with tempfile.TemporaryDirectory() as tmp:
        ir = (callgrind_ir(exe, path, HIGH_N, tmp) - callgrind_ir(exe, path, LOW_N, tmp)) / (HIGH_N - LOW_N)
    allocs = (memcheck_allocs(exe, path, HIGH_N) - memcheck_allocs(exe, path, LOW_N)) / (HIGH_N - LOW_N)
    print("history + capacity, e-MUCS telegram: %.0f instructions/telegram, %.3f allocs/telegram" % (ir, allocs))
    if allocs != 0:
        print("FAIL: the history or the capacity tariff allocates per telegram")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
