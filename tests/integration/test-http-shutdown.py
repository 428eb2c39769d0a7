#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""SIGTERM while HTTP requests keep coming: the daemon ends the live streams
with a last run of the HTTP server, and that run still answers requests
waiting on open connections. Those read the whole status (MQTT, network,
meter), so it must come before any other part is freed. Each round opens a
live stream, keeps GET /api/v1/status coming on keep-alive connections from
four threads, sends SIGTERM, and wants exit status 0 and a stream that ended
cleanly. MQTT is on towards a closed port, so its status carries an error."""

import base64
import http.client
import os
import select
import signal
import subprocess
import threading

import harness
import httpapi
from harness import Tap, Workdir

ROUNDS = int(os.environ.get("SHUTDOWN_ROUNDS", "25"))


def hammer(port, stop, answered):
    auth = "Basic " + base64.b64encode(("user:" + httpapi.PASSWORD).encode()).decode()
    c = None
    while not stop.is_set():
        try:
            if c is None:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/api/v1/status", headers={"Authorization": auth})
            if c.getresponse().read():
                answered.append(1)
        except (OSError, http.client.HTTPException):
            c = None
            if stop.wait(0.01):
                return


def round_once(tap, binary, w, text, r):
    d, port = httpapi.start(tap, binary, w, text, name="round %d" % r)
    if port is None:
        return False
    live = subprocess.Popen(["curl", "-sS", "-N", "-u", "user:%s" % httpapi.PASSWORD,
                             "http://127.0.0.1:%d/api/v1/live" % port],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # The stream is open once its first event (the status) has come.
    ready, _, _ = select.select([live.stdout], [], [], harness.TIMEOUT)
    opened = bool(ready) and live.stdout.read1(4096).startswith(b"event: ")
    stop, answered = threading.Event(), []
    threads = [threading.Thread(target=hammer, args=(port, stop, answered)) for _ in range(4)]
    for t in threads:
        t.start()
    while len(answered) < 20 and live.poll() is None:
        stop.wait(0.01)
    d.proc.send_signal(signal.SIGTERM)
    rc = d.proc.wait(harness.TIMEOUT)
    stop.set()
    for t in threads:
        t.join()
    try:
        curl_rc = live.wait(harness.TIMEOUT)
    except subprocess.TimeoutExpired:
        live.kill()
        curl_rc = None
    ok = opened and rc == 0 and curl_rc == 0
    if not ok:
        tap.diag("round %d: stream opened %s, exit status %r, curl %r %s" % (r, opened, rc, curl_rc, live.stderr.read()))
        d.dump(tap)
    d.stop()
    return ok


def main():
    binary = harness.daemon_path()
    tap = Tap()
    with Workdir() as w:
        text = httpapi.http_config(w.join("meter"))
        text = text.replace("LogLevel=debug", "LogLevel=info")
        text += "\n[MQTT]\nEnabled=yes\nBroker=mqtt://127.0.0.1:1\nPingGateway=127.0.0.2\nPingHost=127.0.0.3\n"
        good = sum(round_once(tap, binary, w, text, r) for r in range(ROUNDS))
        tap.ok(good == ROUNDS, "SIGTERM amid status requests and a live stream: %d of %d rounds exit 0 with "
               "the stream ended cleanly" % (good, ROUNDS))
    tap.done()


if __name__ == "__main__":
    main()
