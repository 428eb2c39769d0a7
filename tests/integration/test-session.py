#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The web page's session with curl: POST /api/v1/session sets an HttpOnly,
SameSite=Strict cookie for Path=/; the cookie opens the API; a second sign-in
ends the first, whose next request gets 401 "signed in elsewhere" (its live
stream ends too); Basic auth works whatever the sessions do; a session unused
for [HTTP] SessionIdleTimeout= ends ("session expired"); the form counts
toward the lockout like Basic auth; sign-in and sign-out from another site's
page are refused; bad bodies get 400; DELETE signs out."""

import re
import subprocess
import time

import harness
import httpapi
from harness import Tap, Workdir, stop_and_check
from httpapi import PASSWORD, Api

IDLE = 2
COOKIE_RX = re.compile(r"sc_session=([0-9a-f]{64})")


def sign_in(api, password=PASSWORD, src="127.0.0.1", headers=()):
    st, hdr, body = api.call("POST", "/api/v1/session", {"user": "user", "password": password}, auth=None,
                             headers=headers, extra=("--interface", src))
    m = COOKIE_RX.search(hdr.get("set-cookie", ""))
    return st, hdr, body, m.group(1) if m else None


def with_cookie(api, token, method="GET", path="/api/v1/status", **kw):
    st, j = api.json(method, path, auth=None, headers=("Cookie: sc_session=%s" % token,), **kw)
    return st, (j or {}).get("error")


def check_cookie(tap, api):
    st, hdr, body, a = sign_in(api)
    sc = hdr.get("set-cookie", "")
    attrs = [x.strip().lower() for x in sc.split(";")[1:]]
    tap.ok(st == 200 and a and set(attrs) == {"path=/", "httponly", "samesite=strict"},
           "sign-in: 200, cookie HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP (%r)" % sc)
    tap.ok(PASSWORD.encode() not in body and a.encode() not in body, "the answer holds neither password nor token")
    tap.ok(with_cookie(api, a)[0] == 200, "the cookie opens GET /api/v1/status")
    st, j = api.json("GET", "/api/v1/session", auth=None, headers=("Cookie: sc_session=%s" % a,))
    tap.ok(st == 200 and j.get("signed_in") is True and j.get("idle_timeout") == IDLE,
           "GET /api/v1/session: signed in, idle timeout %rs" % (j or {}).get("idle_timeout"))
    return a


def check_second(tap, api, a, port):
    live = subprocess.Popen(["curl", "-sS", "-N", "--max-time", "60", "-H", "Cookie: sc_session=" + a,
                             "http://127.0.0.1:%d/api/v1/live" % port], stdout=subprocess.PIPE)
    first = live.stdout.readline()
    st, _, _, b = sign_in(api)
    tap.ok(st == 200 and b and b != a, "a second sign-in: a new token")
    try:
        live.wait(timeout=harness.TIMEOUT)
    except subprocess.TimeoutExpired:
        live.kill()
        live.wait()
    tap.ok(first.startswith(b"event:") and live.returncode == 0,
           "the first session's live stream ended cleanly (curl %r)" % live.returncode)
    st, err = with_cookie(api, a)
    tap.ok(st == 401 and err == "signed in elsewhere", "the first session: 401 %r" % err)
    st, hdr, _ = api.call("GET", "/api/v1/status", auth=None, headers=("Cookie: sc_session=%s" % a,))
    tap.ok("www-authenticate" not in hdr, "no Basic challenge with a session cookie (no browser dialog)")
    tap.ok(with_cookie(api, b)[0] == 200, "the second session works")
    tap.ok(with_cookie(api, "0" * 64)[1] == "not signed in", "an unknown token: 401 not signed in")
    st, _, _ = api.call("GET", "/api/v1/status", headers=("Cookie: sc_session=%s" % a,))
    tap.ok(st == 200, "Basic auth works with an ended session's cookie alongside")
    st, _, _ = api.call("GET", "/api/v1/status")
    tap.ok(st == 200, "Basic auth works whatever the sessions do")
    return b


def check_csrf(tap, api, b, port):
    evil = ("Origin: http://evil.example",)
    st, _, _, t = sign_in(api, headers=evil)
    tap.ok(st == 403 and not t, "sign-in from another site's page: 403, no cookie (%r)" % st)
    st, err = with_cookie(api, b, "DELETE", "/api/v1/session", extra=("-H", evil[0]))
    tap.ok(st == 403, "sign-out from another site's page: 403 (%r %r)" % (st, err))
    st, err = with_cookie(api, b, "POST", "/api/v1/identify", extra=("-H", evil[0]))
    tap.ok(st == 403, "a cookie-authenticated POST from another site's page: 403 (%r)" % st)
    st, err = with_cookie(api, b, "POST", "/api/v1/identify",
                          extra=("-H", "Origin: http://127.0.0.1:%d" % port))
    tap.ok(st not in (401, 403), "the same POST from the gateway's page passes (%r)" % st)
    tap.ok(with_cookie(api, b)[0] == 200, "the session survived the refused requests")


def check_bad(tap, api):
    for body in ("", "{", "[]", '{"user": "user"}', '{"user": 1, "password": "x"}', '{"user":"u","password":"p","user":"v"}'):
        st, j = api.json("POST", "/api/v1/session", body, auth=None, extra=("--interface", "127.0.0.50"))
        tap.ok(st == 400 and (j or {}).get("error"), "sign-in with body %r: 400 (%r)" % (body, st))


def check_lockout(tap, api):
    src = "127.0.0.60"
    codes = [sign_in(api, "guess%d" % n, src)[0] for n in range(5)]
    tap.ok(codes == [401] * 5, "five wrong passwords through the form: 401 each (%r)" % codes)
    st, hdr, _, t = sign_in(api, PASSWORD, src)
    tap.ok(st == 429 and not t and int(hdr.get("retry-after", "0")) >= 1,
           "then the right one gets 429 with Retry-After, no cookie (%r)" % st)
    st, _, _ = api.call("GET", "/api/v1/status", extra=("--interface", src))
    tap.ok(st == 429, "and Basic auth from that address is locked as well (%r)" % st)
    st, _, _, t = sign_in(api, PASSWORD, "127.0.0.61")
    tap.ok(st == 200 and t, "another address signs in meanwhile (%r)" % st)
    return t


def check_expiry_and_out(tap, api, t):
    tap.ok(with_cookie(api, t)[0] == 200, "a fresh session works")
    time.sleep(IDLE + 1.5)
    st, err = with_cookie(api, t)
    tap.ok(st == 401 and err == "session expired", "unused for more than SessionIdleTimeout: 401 %r" % err)
    st, _, _, u = sign_in(api)
    st, hdr, _ = api.call("DELETE", "/api/v1/session", auth=None, headers=("Cookie: sc_session=%s" % u,))
    tap.ok(st == 200 and "max-age=0" in hdr.get("set-cookie", "").lower(), "DELETE signs out, the cookie cleared")
    st, err = with_cookie(api, u)
    tap.ok(st == 401 and err == "not signed in", "the signed-out token: 401 %r" % err)


def main():
    tap = Tap()
    binary = harness.daemon_path()
    with Workdir() as w:
        text = httpapi.http_config(w.join("meter"), extra="")
        text = text.replace("[HTTP]\n", "[HTTP]\nSessionIdleTimeout=%d\n" % IDLE)
        d, port = httpapi.start(tap, binary, w, text)
        if port is None:
            tap.done()
            return
        api = Api(port)
        a = check_cookie(tap, api)
        b = check_second(tap, api, a, port)
        check_csrf(tap, api, b, port)
        check_bad(tap, api)
        t = check_lockout(tap, api)
        check_expiry_and_out(tap, api, t)
        leaks = [x for x in api.bodies if PASSWORD.encode() in x]
        tap.ok(not leaks, "no password in any of %d bodies" % len(api.bodies))
        stop_and_check(tap, d, "session")
    tap.done()


if __name__ == "__main__":
    main()
