#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""HTTPS beside plain HTTP ([HTTP] ListenTLS=, or the sockets named http and
https as the package's socket units pass them), with curl and openssl:

- the gateway's own certificate: made by --make-certificate, renewed by the
  daemon at start when it expires within 30 days (--days 10), with the same
  key; curl trusts it as its CA under smart-connect.local and the host name;
  --show-certificate prints the fingerprint of the certificate openssl
  s_client receives;
- the plain port redirects a browser's page request (Accept: text/html) to
  the same path over HTTPS on the request's Host, before any password; the
  JSON API, /metrics and a non-browser request stay on plain HTTP; hostile
  paths and Hosts do not make headers or foreign redirects;
- SIGHUP with RequireTLS=yes: the plain API gets 403 with a JSON error naming
  the HTTPS URL, the page still the redirect, HTTPS still everything;
- SIGHUP with another [mDNS] Name=: the certificate is renewed for the new
  name (same key) and served at once;
- the two sockets passed as systemd would, nothing about HTTPS in the
  configuration: the daemon makes its certificate and serves HTTPS."""

import os
import re
import signal
import socket
import subprocess
import time

import harness
import httpapi
from harness import Tap, Workdir, stop_and_check
from httpapi import PASSWORD, Api

PLAIN_RX = r"HTTP API on port (\d+).*, http$"
TLS_RX = r"HTTP API on port (\d+).*, https$"
AUTH = ("-u", "user:" + PASSWORD)


def run(*cmd, stdin=None):
    p = subprocess.run(list(cmd), input=stdin, capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def fingerprint_of(text):
    m = re.search(r"SHA-?256 Fingerprint=([0-9A-F:]{95})", text, re.I)
    return m.group(1).upper() if m else None


def served_cert(port, servername="smart-connect.local"):
    """The PEM certificate the server sends, as openssl s_client gets it."""
    _, out, _ = run("openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", servername,
                    stdin=b"")
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n", out, re.S)
    return m.group(0) if m else ""


def x509(pem, *args):
    _, out, _ = run("openssl", "x509", "-noout", *args, stdin=pem.encode())
    return out


def pubkey(pem):
    return x509(pem, "-pubkey")


def read(path):
    with open(path) as f:
        return f.read()


def curl(url, *extra):
    """(status, headers, body) of curl on url; status 0 when curl failed (e.g. the certificate)."""
    p = subprocess.run(["curl", "-sS", "--max-time", "20", "-D", "-", "-o", "-"] + list(extra) + [url],
                       capture_output=True, timeout=60)
    return httpapi.parse_response(p.stdout)


def curl_as(name, port, ca, path="/api/v1/status"):
    """curl https://name:port/path with ca as its only CA, name resolved to 127.0.0.1."""
    return curl("https://%s:%d%s" % (name, port, path), "--cacert", ca,
                "--resolve", "%s:%d:127.0.0.1" % (name, port), *AUTH)


def cli(binary, w, *args):
    return run(binary, "--config", w.join("smartconnect.conf"), "--state-dir", w.join("state"), *args)


def config(w, extra_http="", extra=""):
    return httpapi.http_config(w.join("meter"), extra=extra).replace(
        "[HTTP]\n", "[HTTP]\nListenTLS=127.0.0.1:0\n" + extra_http)


def until(fn, timeout=harness.TIMEOUT):
    """fn() until it is true: its last value."""
    deadline = time.monotonic() + timeout
    v = fn()
    while not v and time.monotonic() < deadline:
        time.sleep(0.1)
        v = fn()
    return v


def reload(d, text):
    d.write_config(text)
    d.signal(signal.SIGHUP)


def make_short_cert(tap, binary, w):
    """A certificate valid 10 days, standing in for one near its end: (fingerprint, PEM)."""
    os.makedirs(w.join("state"), exist_ok=True)
    with open(w.join("smartconnect.conf"), "w") as f:
        f.write(config(w))
    rc, out, err = cli(binary, w, "--make-certificate", "--days", "10")
    tap.ok(rc == 0 and "HTTPS certificate made" in out, "--make-certificate --days 10: made (%r)" % (out + err))
    tap.ok(os.stat(w.join("state", "https-key.pem")).st_mode & 0o777 == 0o600, "the key is 0600")
    pem = read(w.join("state", "https-certificate.pem"))
    tap.ok(fingerprint_of(out) == fingerprint_of(x509(pem, "-fingerprint", "-sha256")),
           "--make-certificate prints the file's SHA-256 fingerprint")
    rc, _, _ = cli(binary, w, "--make-certificate", "--days", "0")
    tap.ok(rc == 2, "--days 0 is a usage error (%d)" % rc)
    return fingerprint_of(out), pem


def check_served(tap, binary, w, d, tls, short):
    i, _ = d.wait_for(r"HTTPS certificate renewed")
    tap.ok(i is not None, "the daemon renewed the certificate that expires within 30 days at start")
    ca = w.join("state", "https-certificate.pem")
    pem = read(ca)
    tap.ok(pem != short[1] and pubkey(pem) == pubkey(short[1]), "renewed with the same key")
    end = x509(pem, "-checkend", str(800 * 86400))
    tap.ok("will not expire" in end, "the new one is valid for more than 800 days (%r)" % end.strip())
    rc, out, _ = cli(binary, w, "--show-certificate")
    fp = fingerprint_of(out)
    served = fingerprint_of(x509(served_cert(tls), "-fingerprint", "-sha256"))
    tap.ok(rc == 0 and fp and fp == served and fp != short[0],
           "--show-certificate %s = the served certificate's (openssl s_client) %s" % (fp, served))
    tap.ok(re.search(r"Not After : \w+ +\d+ [\d:]+ \d{4} GMT", out) and "DNS:smart-connect.local" in out,
           "--show-certificate prints the validity and the names")
    for name in ("smart-connect.local", socket.gethostname(), "localhost"):
        st, _, body = curl_as(name, tls, ca)
        tap.ok(st == 200 and b'"system"' in body, "HTTPS as %s with the certificate as CA: status (%r)" % (name, st))
    st, hdr, _ = curl("https://127.0.0.1:%d/" % tls, "--cacert", ca, *AUTH)
    tap.ok(st == 200 and hdr.get("content-type", "").startswith("text/html"), "HTTPS: the page, 127.0.0.1 (%r)" % st)
    st, _, _ = curl("https://smart-connect.local:%d/api/v1/status" % tls, "--resolve",
                    "smart-connect.local:%d:127.0.0.1" % tls, *AUTH)
    tap.ok(st == 0, "without the certificate as CA curl refuses the self-signed one")


def check_plain(tap, plain, tls):
    html = ("-H", "Accept: text/html,application/xhtml+xml,*/*;q=0.8")
    base = "http://127.0.0.1:%d" % plain
    st, hdr, _ = curl(base + "/", "-H", "Host: smart-connect.local:%d" % plain, *html)
    tap.ok(st == 308 and hdr.get("location") == "https://smart-connect.local:%d/" % tls,
           "plain page request, no password: 308 to https on the same Host (%r %r)" % (st, hdr.get("location")))
    st, hdr, _ = curl(base + "/settings%20x?tab=1", *html)
    tap.ok(st == 308 and hdr.get("location") == "https://127.0.0.1:%d/settings%%20x" % tls,
           "another page path: the same path over https (%r %r)" % (st, hdr.get("location")))
    st, _, _ = curl(base + "/", "-H", "Host: evil.example", *html)
    tap.ok(st == 421, "a foreign Host gets 421, not a redirect to it (%r)" % st)
    st, _, body = curl(base + "/api/v1/status", *AUTH, *html)
    tap.ok(st == 200 and b'"system"' in body, "the API on plain HTTP, even with Accept: text/html: 200 (%r)" % st)
    st, _, _ = curl(base + "/metrics", *AUTH, *html)
    tap.ok(st == 200, "/metrics on plain HTTP: 200 (%r)" % st)
    st, _, _ = curl(base + "/", *AUTH)
    tap.ok(st == 200, "the page for a client that does not ask for HTML: served on plain (%r)" % st)
    st, _, _ = curl(base + "/api/v1/status")
    tap.ok(st == 401, "the plain API still needs the password (%r)" % st)


def check_plain_hostile(tap, plain, tls):
    """What a client controls in the redirect: the path and the Host."""
    html = ("-H", "Accept: text/html")
    base = "http://127.0.0.1:%d" % plain
    st, hdr, _ = curl(base + "/%0d%0aSet-Cookie:%20x=1%C3%A9", *html)
    loc = hdr.get("location", "")
    want = "https://127.0.0.1:%d/%%0D%%0ASet-Cookie:%%20x=1%%C3%%A9" % tls
    tap.ok(st == 308 and "set-cookie" not in hdr and loc == want,
           "CR, LF and non-ASCII bytes in the path come back percent-encoded, no header made of them (%r)" % loc)
    st, hdr, _ = curl(base + "/a%00b", *html)
    tap.ok(st == 308 and hdr.get("location") == "https://127.0.0.1:%d/a" % tls,
           "a NUL in the path ends it (%r %r)" % (st, hdr.get("location")))
    st, hdr, _ = curl(base + "/" + "a" * 4000, *html)
    tap.ok(st == 401 and "location" not in hdr, "a path too long for a redirect is not redirected: 401 (%r)" % st)
    st, hdr, _ = curl(base + "/", "-H", "Host: [::1]:%d" % plain, *html)
    tap.ok(st == 308 and hdr.get("location") == "https://[::1]:%d/" % tls,
           "an IPv6 Host keeps its brackets (%r %r)" % (st, hdr.get("location")))
    st, _, _ = curl(base + "/", "-X", "POST", "-H", "Origin: http://127.0.0.1:%d" % plain, *html)
    tap.ok(st != 308, "a POST of the page is not redirected (%r)" % st)
    st, hdr, _ = curl(base + "/", "-H", "Host: smart-connect.local:%d\tx<y>" % plain, *html)
    tap.ok(st in (400, 421) or hdr.get("location") == "https://smart-connect.local:%d/" % tls,
           "junk after the Host's port never reaches the Location (%r %r)" % (st, hdr.get("location")))


def check_require_tls(tap, d, w, plain, tls):
    api = Api(plain)
    reload(d, config(w, "RequireTLS=yes\n"))
    until(lambda: api.json("GET", "/api/v1/status")[0] == 403)
    st, j = api.json("GET", "/api/v1/status")
    tap.ok(st == 403 and j and "HTTPS" in j.get("error", "") and
           j.get("url") == "https://127.0.0.1:%d/api/v1/status" % tls,
           "RequireTLS=yes: the plain API gets 403 and a JSON error naming the HTTPS URL (%r %r)" % (st, j))
    st, _ = api.json("PATCH", "/api/v1/config", {"MQTT": {"Enabled": False}},
                     headers=("Origin: http://127.0.0.1:%d" % plain,))
    tap.ok(st == 403, "RequireTLS=yes: a PATCH on plain gets 403 (%r)" % st)
    st, _, _ = curl("http://127.0.0.1:%d/" % plain, "-H", "Accept: text/html")
    tap.ok(st == 308, "RequireTLS=yes: the page request is still redirected (%r)" % st)
    st, _ = Api(tls, scheme="https", cacert=w.join("state", "https-certificate.pem")).json("GET", "/api/v1/status")
    tap.ok(st == 200, "RequireTLS=yes: HTTPS serves the API (%r)" % st)
    reload(d, config(w))
    tap.ok(until(lambda: api.json("GET", "/api/v1/status")[0] == 200),
           "RequireTLS=no again (SIGHUP): the plain API serves")


def check_rename(tap, binary, w, d, tls):
    ca = w.join("state", "https-certificate.pem")
    before = read(ca)
    start = d.count()
    reload(d, config(w, extra="\n[mDNS]\nEnabled=no\nName=kitchen\n"))
    i, _ = d.wait_for(r"HTTPS certificate renewed", start)
    tap.ok(i is not None, "another [mDNS] Name= on SIGHUP: the certificate is renewed")
    after = read(ca)
    tap.ok(after != before and pubkey(after) == pubkey(before) and
           "DNS:kitchen.local" in x509(after, "-ext", "subjectAltName"),
           "the new certificate names kitchen.local, same key")
    j, _ = d.wait_for(TLS_RX, i or start)
    served = fingerprint_of(x509(served_cert(tls, "kitchen.local"), "-fingerprint", "-sha256"))
    tap.ok(j is not None and served == fingerprint_of(cli(binary, w, "--show-certificate")[1]),
           "the HTTPS listener serves the renewed certificate at once (%s)" % served)
    st, _, _ = curl_as("kitchen.local", tls, ca)
    tap.ok(st == 200, "curl as kitchen.local with the new certificate: 200 (%r)" % st)


def listeners(tap, binary):
    with Workdir() as w:
        short = make_short_cert(tap, binary, w)
        d = w.add(harness.Daemon(binary, w.path, config(w)))
        tap.on_failure = [lambda: d.dump(tap)]
        _, mp = d.wait_for(PLAIN_RX)
        _, mt = d.wait_for(TLS_RX)
        tap.ok(mp and mt, "two listeners: plain HTTP and HTTPS")
        if mp and mt:
            plain, tls = int(mp.group(1)), int(mt.group(1))
            check_served(tap, binary, w, d, tls, short)
            check_plain(tap, plain, tls)
            check_plain_hostile(tap, plain, tls)
            check_require_tls(tap, d, w, plain, tls)
            check_rename(tap, binary, w, d, tls)
        stop_and_check(tap, d, "HTTPS beside HTTP")


def activated(tap, binary):
    """The sockets as smartconnect-http.socket and smartconnect-https.socket pass them."""
    with Workdir() as w:
        socks = [harness.loopback_listener(), harness.loopback_listener()]
        plain, tls = (s.getsockname()[1] for s in socks)
        d = w.add(harness.Daemon(binary, w.path, httpapi.http_config(w.join("meter")), listen_fds=socks,
                                 pid_env=[], env={"LISTEN_FDNAMES": "http:https"}))
        for s in socks:
            s.close()
        tap.on_failure = [lambda: d.dump(tap)]
        i, _ = d.wait_for(r"HTTP API on port %d \(socket activation\), https" % tls)
        tap.ok(i is not None, "socket named https: HTTPS on it, with the certificate the daemon made")
        st, _, _ = curl_as("smart-connect.local", tls, w.join("state", "https-certificate.pem"))
        tap.ok(st == 200, "socket activation: HTTPS with the certificate as CA (%r)" % st)
        st, hdr, _ = curl("http://smart-connect.local:%d/" % plain, "--resolve",
                          "smart-connect.local:%d:127.0.0.1" % plain, "-H", "Accept: text/html")
        tap.ok(st == 308 and hdr.get("location") == "https://smart-connect.local:%d/" % tls,
               "socket activation: the plain socket redirects the page (%r %r)" % (st, hdr.get("location")))
        stop_and_check(tap, d, "socket activation")


def main():
    binary = harness.daemon_path()
    tap = Tap()
    listeners(tap, binary)
    activated(tap, binary)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
