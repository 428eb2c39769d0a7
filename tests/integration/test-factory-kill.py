#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Factory reset under kill -9 at random moments, 100 rounds in at most about
two minutes: before each round the state directory holds overrides.json and
http-password; POST /api/v1/factory-reset is sent and the daemon is killed
0 to 8 ms later. Afterwards the directory is either as before or holds the
reset's marker (never a torn overrides.json or a lost secret), and the next
start completes the reset: the daemon starts, and overrides.json is there
only if the reset had not begun."""

import os
import random
import signal
import socket
import base64
import sys
import time

import harness
import httpapi
from harness import Tap, Workdir

ROUNDS = 100
BUDGET = 150  # seconds


def post_reset(port):
    """Send the request without waiting for the answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    auth = base64.b64encode(("user:%s" % httpapi.PASSWORD).encode()).decode()
    s.sendall(("POST /api/v1/factory-reset HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n"
               "Content-Length: 0\r\n\r\n" % auth).encode())
    return s


def listing(state):
    return sorted(os.listdir(state))


def run(tap, binary, w):
    state = w.join("state")
    pty = w.add(harness.Pty(w.join("ttyMETER")))
    text = httpapi.http_config(pty.link)
    d, port = httpapi.start(tap, binary, w, text, name="first start")
    if port is None:
        return
    st, _ = httpapi.Api(port).json("PATCH", "/api/v1/config", {"MQTT": {"Site": "before"}})
    tap.ok(st == 200, "a setting made through the API")
    with open(httpapi.overrides_path(w), "rb") as f:
        original = f.read()
    with open(os.path.join(state, "http-password"), "w") as f:
        f.write("device-secret\n")
    d.proc.kill()
    d.proc.wait()

    rng = random.Random(int(os.environ.get("SEED", time.time())))
    stats = {"before": 0, "marker": 0, "after": 0}
    bad = []
    t0 = time.monotonic()
    rounds = 0
    while rounds < ROUNDS and time.monotonic() - t0 < BUDGET:
        rounds += 1
        if not os.path.exists(httpapi.overrides_path(w)):
            with open(httpapi.overrides_path(w), "wb") as f:
                f.write(original)
        d = w.add(harness.Daemon(binary, w.path, text))
        i, m = d.wait_for(httpapi.HTTP_RX)
        if i is None:
            bad.append("round %d: the daemon did not start" % rounds)
            d.proc.kill()
            break
        started_with = "overrides" if d.wait_for(r"override the configuration file", 0, 0)[0] is not None else "none"
        if started_with != "overrides":
            bad.append("round %d: the daemon started without the overrides it had" % rounds)
        s = post_reset(int(m.group(1)))
        time.sleep(rng.uniform(0, 0.008))
        os.kill(d.proc.pid, signal.SIGKILL)
        d.proc.wait()
        s.close()
        names = listing(state)
        if "http-password" not in names:
            bad.append("round %d: http-password lost: %s" % (rounds, names))
        if "overrides.json" in names:
            with open(httpapi.overrides_path(w), "rb") as f:
                if f.read() != original:
                    bad.append("round %d: overrides.json changed" % rounds)
        extra = set(names) - {"http-password", "overrides.json", "factory-reset", "factory-reset.tmp"}
        if extra:
            bad.append("round %d: unexpected files %s" % (rounds, sorted(extra)))
        if "factory-reset" in names:
            stats["marker"] += 1
            # The next start must finish it.
            d2 = w.add(harness.Daemon(binary, w.path, text))
            i, _ = d2.wait_for(httpapi.HTTP_RX)
            fin = d2.wait_for(r"Factory reset: finishing the one that was interrupted", 0, 0)[0]
            if i is None or fin is None or os.path.exists(httpapi.overrides_path(w)) or \
                    os.path.exists(os.path.join(state, "factory-reset")):
                bad.append("round %d: the interrupted reset was not finished at start: %s" % (rounds, listing(state)))
            d2.proc.kill()
            d2.proc.wait()
        elif "overrides.json" in names:
            stats["before"] += 1
        else:
            stats["after"] += 1
    tap.diag("rounds %d in %.0f s; killed before the reset: %d, with its marker: %d, after it: %d"
             % (rounds, time.monotonic() - t0, stats["before"], stats["marker"], stats["after"]))
    tap.ok(rounds >= ROUNDS, "%d rounds within the time budget" % rounds)
    for b in bad[:10]:
        tap.diag(b)
    tap.ok(not bad, "every round: the state directory before or after the reset, never half; the daemon starts")
    d = w.add(harness.Daemon(binary, w.path, text))
    i, _ = d.wait_for(httpapi.HTTP_RX)
    tap.ok(i is not None and listing(state) in (["http-password"], ["http-password", "overrides.json"]),
           "a last start: %s" % listing(state))
    harness.stop_and_check(tap, d, "last start")


def main():
    tap = Tap()
    with Workdir() as w:
        run(tap, sys.argv[1], w)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
