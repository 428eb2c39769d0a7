#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The web page over HTTPS in headless Chromium, as an installer sees it after
checking the fingerprint: the daemon serves its own self-signed certificate
on the socket named https, Chromium accepts that one certificate only
(--ignore-certificate-errors-spki-list with the SHA-256 of its public key,
computed here from the certificate file) and reaches the gateway as
smart-connect.local (--host-resolver-rules, to 127.0.0.1).

- http://smart-connect.local:<plain>/ ends up at https://smart-connect.local:<tls>/;
- the page loads over HTTPS with the credentials, in a secure context, and
  its own requests to the API succeed;
- a browser told to accept another key gets its certificate error page, not
  the page (so the flag is what lets the first browser in).

Chromium, chromedriver and selenium are required, as for test-webpage.py,
whose Browser this test borrows."""

import base64
import hashlib
import importlib.util
import os
import subprocess
import sys
import types

import harness
import httpapi
from harness import Workdir

USER, PASSWORD = "user", httpapi.PASSWORD
NAME = "smart-connect.local"


def webpage_module():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-webpage.py")
    spec = importlib.util.spec_from_file_location("test_webpage", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def spki_sha256(cert_path):
    """base64(SHA-256(SubjectPublicKeyInfo)), the form Chromium's flag takes."""
    pub = subprocess.run(["openssl", "x509", "-in", cert_path, "-noout", "-pubkey"], capture_output=True,
                         check=True, timeout=30).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub, capture_output=True,
                         check=True, timeout=30).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def with_args(se, args):
    """se whose ChromeOptions carry args as well."""
    def options():
        o = se.webdriver.ChromeOptions()
        for a in args:
            o.add_argument(a)
        return o
    wd = types.SimpleNamespace(ChromeOptions=options, Chrome=se.webdriver.Chrome)
    return types.SimpleNamespace(webdriver=wd, Service=se.Service, By=se.By, Select=se.Select)


def browser(web, w, se, paths, spki):
    b = w.add(web.Browser(w.path))
    b.start(with_args(se, ["--ignore-certificate-errors-spki-list=" + spki,
                           "--host-resolver-rules=MAP %s 127.0.0.1" % NAME]), *paths)
    b.driver.set_page_load_timeout(harness.TIMEOUT)
    return b


def page_checks(tap, web, drv, se, plain, tls):
    drv.get("http://%s:%d/" % (NAME, plain))
    url = web.until(lambda: drv.current_url.startswith("https://") and drv.current_url, 10)
    tap.ok(url == "https://%s:%d/" % (NAME, tls), "http://%s:%d/ leads the browser to %r" % (NAME, plain, url))
    drv.get("https://%s:%d/" % (NAME, tls))
    tap.ok(drv.title == "SmartConnect", "the page loads over HTTPS with the certificate accepted (%r)" % drv.title)
    tap.ok(web.sign_in(drv, se, PASSWORD), "signed in through the page's form over HTTPS")
    cookies = drv.execute_cdp_cmd("Network.getAllCookies", {}).get("cookies", [])
    sc = [c for c in cookies if c.get("name") == "sc_session"]
    tap.ok(len(sc) == 1 and sc[0].get("secure") and sc[0].get("httpOnly") and sc[0].get("sameSite") == "Strict",
           "the session cookie is Secure, HttpOnly, SameSite=Strict under HTTPS (%r)"
           % [{k: c.get(k) for k in ("secure", "httpOnly", "sameSite", "path")} for c in sc])
    tap.ok(drv.execute_script("return location.protocol === 'https:' && window.isSecureContext") is True,
           "the page is a secure context on https:")
    st = drv.execute_async_script("const done = arguments[0];"
                                  "fetch(location.origin + '/api/v1/status')"
                                  ".then(r => done(r.status), e => done(String(e)))")
    tap.ok(st == 200, "the page's own request to the API over HTTPS: %r" % st)


def run(tap, binary, se, paths):
    web = webpage_module()
    with Workdir() as w:
        socks = [harness.loopback_listener(), harness.loopback_listener()]
        plain, tls = (s.getsockname()[1] for s in socks)
        d = w.add(harness.Daemon(binary, w.path, httpapi.http_config(w.join("meter")), listen_fds=socks,
                                 pid_env=[], env={"LISTEN_FDNAMES": "http:https"}))
        for s in socks:
            s.close()
        tap.on_failure = [lambda: d.dump(tap)]
        i, _ = d.wait_for(r"HTTP API on port %d \(socket activation\), https" % tls)
        if not tap.ok(i is not None, "HTTPS on the socket named https"):
            return
        spki = spki_sha256(w.join("state", "https-certificate.pem"))
        b = browser(web, w, se, paths, spki)
        page_checks(tap, web, b.driver, se, plain, tls)
        b.close()

        # Another key's hash: the same certificate is an error for this browser.
        other = base64.b64encode(hashlib.sha256(b"another key").digest()).decode()
        b = browser(web, w, se, paths, other)
        b.driver.get("https://%s:%s@%s:%d/" % (USER, PASSWORD, NAME, tls))
        title = b.driver.title
        tap.ok(title != "SmartConnect", "told to accept another key only, Chromium refuses it (%r)" % title)
        b.close()
        tap.ok(not b.processes(), "no Chromium or chromedriver process left")
        harness.stop_and_check(tap, d, "HTTPS page")


def main():
    return webpage_module().browser_main(run)


if __name__ == "__main__":
    sys.exit(main())
