#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""kill -9 in the middle of config saves: PATCHes run back to back while the
daemon is killed at a random moment, 200 times. Each time overrides.json must
be a complete version, the one before or one that was sent, and the next
daemon must start with it."""

import base64
import http.client
import json
import os
import random
import signal
import threading
import time

import harness
import httpapi
from harness import stop_and_check, Tap, Workdir

ROUNDS = int(os.environ.get("KILL_ROUNDS", "200"))


def doc(n):
    # Every field at its size limit, so a torn write would show.
    return {"MQTT": {"Site": "s%d-" % n + "y" * 50, "Username": "u%d-" % n + "x" * 110,
                     "Password": "p%d-" % n + "z" * 110}}


def patcher(port, start, sent, stop):
    auth = "Basic " + base64.b64encode(("user:" + httpapi.PASSWORD).encode()).decode()
    n = start
    while not stop.is_set():
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            body = json.dumps(doc(n))
            sent.append(doc(n))
            c.request("PATCH", "/api/v1/config", body, {"Authorization": auth, "Content-Type": "application/json"})
            c.getresponse().read()
            c.close()
        except (OSError, http.client.HTTPException):
            return
        n += 1


def main():
    binary = harness.daemon_path()
    tap = Tap()
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    tap.diag("seed %d" % seed)

    with Workdir() as w:
        text = httpapi.http_config(w.join("meter"))
        text = text.replace("LogLevel=debug", "LogLevel=info")
        prev = None  # the document the file held before the round
        bad_files = bad_starts = saves = 0
        n = 0
        for r in range(ROUNDS):
            d = w.add(harness.Daemon(binary, w.path, text))
            i, m = d.wait_for(httpapi.HTTP_RX)
            if i is None:
                bad_starts += 1
                d.dump(tap)
                break
            if prev is not None:
                st, c = httpapi.Api(int(m.group(1))).json("GET", "/api/v1/config")
                if st != 200 or c["MQTT"]["Site"] != prev["MQTT"]["Site"]:
                    bad_starts += 1
            sent, stop = [], threading.Event()
            t = threading.Thread(target=patcher, args=(int(m.group(1)), n, sent, stop))
            t.start()
            time.sleep(rng.uniform(0.01, 0.25))
            d.proc.send_signal(signal.SIGKILL)
            d.proc.wait()
            stop.set()
            t.join(10)
            n += len(sent) + 1
            raw = httpapi.read_overrides(w)
            try:
                got = json.loads(raw) if raw is not None else None
            except ValueError:
                got = "torn"
            if got != prev and got not in sent:
                bad_files += 1
                tap.diag("round %d: overrides.json is neither the old nor a sent version: %r" % (r, raw[:200]))
            if got != prev:
                saves += 1
            prev = got
            d.thread.join(5)
        tap.ok(bad_starts == 0, "%d rounds: every daemon started with the file left by the previous kill" % ROUNDS)
        tap.ok(bad_files == 0, "%d rounds: overrides.json was always a complete old or new version" % ROUNDS)
        tap.ok(saves >= ROUNDS // 10, "the kills hit running saves: %d rounds changed the file" % saves)

        # What a kill between the temporary file's write and its rename leaves.
        tmp = w.join("state", "overrides.json.tmp")
        with open(tmp, "w") as f:
            f.write('{"MQTT": {"Site": "half')
        d = w.add(harness.Daemon(binary, w.path, text))
        i, _ = d.wait_for(r"Removed '.*overrides\.json\.tmp', left by a save that did not finish")
        tap.ok(i is not None, "a left-over overrides.json.tmp is named in the log at start")
        tap.ok(not os.path.exists(tmp), "and removed")
        d.wait_for(httpapi.HTTP_RX)  # up, with its signal handlers, before the SIGTERM below
        stop_and_check(tap, d, "start after a torn save")
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
