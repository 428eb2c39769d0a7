#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The web page at / in headless Chromium (Debian chromium + chromium-driver,
driven by python3-selenium) against the real daemon fed by a pty: the sign-in form
(one session at a time: a second browser signing in ends the first),
the live values of a real telegram compared with its sidecar, a refresh
without reload, the MQTT form saved through PATCH and read back with GET, the
server's error next to the field, a phone viewport without horizontal scroll,
and a screenshot in the build's meson-logs directory.

Chromium, chromedriver and selenium are required: a missing one fails the test."""

import base64
import decimal
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import time
import traceback
import types
import urllib.error
import urllib.request

import harness
from harness import Daemon, Pty, Tap, Workdir

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("modbus_common", os.path.join(HERE, "test-modbus-common.py"))
mb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mb)

RAW = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"
SIDECAR = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.json"
PAGE_SRC = os.path.join(HERE, "..", "..", "src", "outputs", "web", "index.html")
I18N_SRC = os.path.join(HERE, "..", "..", "src", "outputs", "web", "i18n", "%s.json")
# The page and its script; 24 KiB until the sign-in form, the language
# switch and the power curve. The translations are separate resources (GET /i18n/<lang>.json),
# so more languages do not grow the page.
PAGE_MAX = 32 * 1024
USER = "user"
PASSWORD = "web-Test-pw1"
HTTP_RX = r"HTTP API on port (\d+)"
DASH = "\u2014"
D = decimal.Decimal


def _selenium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select
    return types.SimpleNamespace(webdriver=webdriver, Service=Service, By=By, Select=Select)


def import_selenium():
    """What the test uses of selenium (also Debian's, under another python3), or None."""
    try:
        return _selenium()
    except ImportError:
        pass
    dist = "/usr/lib/python3/dist-packages"
    if os.path.isdir(os.path.join(dist, "selenium")) and dist not in sys.path:
        sys.path.append(dist)
        try:
            return _selenium()
        except ImportError:
            pass
    return None


def chromium_binary():
    # The real binary, not the launcher script (which reads /etc/chromium.d).
    for p in ("/usr/lib/chromium/chromium", shutil.which("chromium") or ""):
        if p and os.access(p, os.X_OK):
            return p
    return None


def until(fn, timeout=harness.TIMEOUT, every=0.1):
    """fn() until it returns something true: that value, or None at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            return None
        time.sleep(every)


class Browser:
    """chromedriver in its own process group (Chromium runs under it), a temporary profile."""

    def __init__(self, workdir):
        self.profile = tempfile.mkdtemp(prefix="chromium-", dir=workdir)
        self.log = os.path.join(workdir, "chromedriver.log")
        self.driver = None
        self.service = None
        self.pgid = None

    def start(self, se, driver_path, chrome_path, lang=None):
        # A home of its own: Chromium writes crash report and dconf files there.
        home = os.path.join(self.profile, "home")
        env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
                   XDG_CACHE_HOME=os.path.join(home, ".cache"))
        self.service = se.Service(driver_path, port=0, log_path=self.log, env=env,
                                  popen_kw={"start_new_session": True})
        opts = se.webdriver.ChromeOptions()
        opts.binary_location = chrome_path
        for a in ("--headless=new", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                  "--disable-extensions", "--disable-background-networking", "--disable-sync",
                  "--disable-component-update", "--password-store=basic", "--window-size=1280,900",
                  "--user-data-dir=" + self.profile,
                  # Needed as root, and where user namespaces are off (build containers);
                  # the browser only ever loads the daemon's page from loopback.
                  "--no-sandbox"):
            opts.add_argument(a)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        if lang:  # the browser's Accept-Language (and navigator.languages)
            opts.add_experimental_option("prefs", {"intl.accept_languages": lang})
        try:
            self.driver = se.webdriver.Chrome(service=self.service, options=opts)  # starts the service
        finally:
            proc = getattr(self.service, "process", None)
            self.pgid = proc.pid if proc else None

    def close(self):
        try:
            if self.driver:
                self.driver.quit()
        except Exception:
            pass
        # What is left: the group of chromedriver and Chromium, and the crash
        # handlers, which leave the group but name the profile on their command line.
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.processes():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            if until(lambda: not self.processes(), 5):
                break
        try:
            self.service.process.wait(5)
        except Exception:
            pass
        shutil.rmtree(self.profile, ignore_errors=True)
        self.driver = None

    def processes(self):
        """Live processes of this browser: in chromedriver's process group or started with our profile."""
        found = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % pid) as f:
                    st = f.read()
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            fields = st[st.rindex(")") + 2:].split()
            if fields[0] == "Z":
                continue
            if (self.pgid is not None and int(fields[2]) == self.pgid) or self.profile.encode() in cmd:
                found.append(int(pid))
        return found


class Api:
    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port

    def call(self, method, path, body=None, auth=(USER, PASSWORD)):
        """(status, headers, body bytes)"""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if auth:
            req.add_header("Authorization", "Basic " + base64.b64encode(("%s:%s" % auth).encode()).decode())
        try:
            with urllib.request.urlopen(req, timeout=harness.TIMEOUT) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def json(self, method, path, body=None):
        st, _, raw = self.call(method, path, body)
        try:
            return st, json.loads(raw)
        except ValueError:
            return st, None


def expected_values():
    """Display id -> the value the sidecar gives (W, kWh, V, A)."""
    s = json.loads(harness.testdata(SIDECAR))["expected"]["summary"]
    kw = lambda o: D(o["value"]) * 1000  # noqa: E731
    exp = {
        "m-P": kw(s["power_import"]) - kw(s["power_export"]),
        "m-E_IMPORT": sum(D(t["value"]) for t in s["energy_import"].values()),
        "m-E_EXPORT": sum(D(t["value"]) for t in s["energy_export"].values()),
    }
    for n in (1, 2, 3):
        ph = s["phases"]["L%d" % n]
        exp["m-l%d-U" % n] = D(ph["voltage"]["value"])
        exp["m-l%d-I" % n] = D(ph["current"]["value"])
        exp["m-l%d-P" % n] = kw(ph["power_import"]) - kw(ph["power_export"])
    return exp, s["equipment_id"]["ascii"]


def number(text):
    m = re.match(r"^(-?\d+(?:\.\d+)?)(?: (?:W|kWh|V|A))?$", text or "")
    return D(m.group(1)) if m else None


def check_auth(tap, api):
    # The page itself is its sign-in form and holds no data: served to anyone.
    st, hdr, _ = api.call("GET", "/api/v1/status", auth=None)
    tap.ok(st == 401 and "basic" in (hdr.get("WWW-Authenticate") or "").lower(),
           "GET /api/v1/status without credentials: 401 with a Basic challenge (%r)" % st)
    st, _, _ = api.call("GET", "/api/v1/status", auth=(USER, "wrong"))
    tap.ok(st == 401, "GET /api/v1/status with a wrong password: 401 (%r)" % st)
    st, hdr, body = api.call("GET", "/", auth=None)
    with open(PAGE_SRC, "rb") as f:
        src = f.read()
    tap.ok(st == 200 and (hdr.get("Content-Type") or "").startswith("text/html"),
           "GET / without credentials: 200 text/html, the sign-in form (%r %r)" % (st, hdr.get("Content-Type")))
    tap.ok(body == src, "the page served is src/outputs/web/index.html (%d bytes)" % len(body))
    text = body.decode("utf-8", "replace")
    ext = re.findall(r"""(?:src|href|action)\s*=\s*["']?(?:https?:)?//|@import|url\(""", text)
    tap.ok(not ext and len(body) < PAGE_MAX, "one file, no external asset, %d bytes < %d KiB" % (len(body), PAGE_MAX // 1024))
    for lang in ("fr", "nl"):
        st, hdr, body = api.call("GET", "/i18n/%s.json" % lang, auth=None)
        with open(I18N_SRC % lang, "rb") as f:
            src = f.read()
        tap.ok(st == 200 and body == src and (hdr.get("Content-Type") or "").startswith("application/json"),
               "GET /i18n/%s.json without credentials: the table from the source (%r, %d bytes)" % (lang, st, len(body)))
    st, _, _ = api.call("GET", "/i18n/de.json", auth=None)
    tap.ok(st in (401, 404), "GET /i18n/de.json: no such table (%r)" % st)
    tap.ok("innerHTML" not in text and "outerHTML" not in text and "document.write" not in text,
           "no innerHTML / document.write in the page")


def text_of(drv, eid):
    return drv.execute_script(
        "var e = document.getElementById(arguments[0]); return e ? e.textContent : null;", eid)


def check_values(tap, drv, exp, ident):
    shown = until(lambda: all(number(text_of(drv, k)) is not None for k in exp) and text_of(drv, "m-P"))
    if not tap.ok(shown, "the page shows the meter values (P = %r)" % text_of(drv, "m-P")):
        return
    bad = {k: (text_of(drv, k), str(v)) for k, v in exp.items() if number(text_of(drv, k)) != v}
    tap.ok(not bad, "P, import/export energy and per-phase U/I/P equal the sidecar's values %s" % (bad or ""))
    tap.ok(text_of(drv, "m-P").endswith(" W") and text_of(drv, "m-E_IMPORT").endswith(" kWh"),
           "with units: %r, %r" % (text_of(drv, "m-P"), text_of(drv, "m-E_IMPORT")))
    lines = [text_of(drv, "m-U%s" % k) for k in ("12", "31", "32")]
    tap.ok(lines == [DASH] * 3, "line voltages the telegram lacks show a dash, not 0 (%r)" % lines)
    body = drv.execute_script("return document.body.innerText")
    tap.ok(ident in body, "the meter id %s is shown" % ident)
    states = [drv.execute_script("return document.getElementById(arguments[0]).dataset.state", i)
              for i in ("i-link", "i-net", "i-inet", "i-mqtt")]
    tap.ok("Active interface" in body and all(x in ("ok", "bad", "unk") for x in states),
           "Network: active interface and the Link, Network, Internet, MQTT indicators %r" % states)


def record_requests(drv):
    """Keep every fetch() other than GET the page sends from now on, with its body."""
    drv.execute_script("""
        window.__sent = [];
        const f = window.fetch;
        window.fetch = function (u, o) {
            if (o && o.method && o.method !== "GET")
                window.__sent.push({ method: o.method, url: String(u), body: o.body || null });
            return f.apply(this, arguments);
        };""")


def sent(drv):
    return [dict(r, body=json.loads(r["body"]) if r["body"] else None)
            for r in drv.execute_script("return window.__sent")]


def fake_managed(drv, left):
    """The page's view of a daemon that manages the network with a change pending for `left` s:
    its status as NetworkManager management gives it, and a PATCH that succeeds. The test's
    daemon runs with Manage=no, and only this page's fetch() is doctored; undone by real_fetch()."""
    drv.execute_script("""
        const left = arguments[0], real = window.__real_fetch = window.__real_fetch || window.fetch;
        const answer = o => new Response(JSON.stringify(o), { headers: { "Content-Type": "application/json" } });
        window.fetch = async function (u, o) {
            if (String(u).endsWith("/api/v1/status")) {
                const s = await (await real.apply(this, arguments)).json();
                s.network.manager = { managed_by: "networkmanager", available: true, confirm_within_sec: left };
                return answer(s);
            }
            if (o && o.method === "PATCH" && window.__fake_patch) return answer({ status: "saved" });
            return real.apply(this, arguments);
        };
        // The page's status also comes pushed by the live stream: the same view there.
        const orig = window.__real_status = window.__real_status || status;
        status = function (s) {
            if (s && s.network)
                s.network.manager = { managed_by: "networkmanager", available: true, confirm_within_sec: left };
            return orig(s);
        };
        if (typeof last !== "undefined" && last)
            status(last);""", left)


def real_fetch(drv):
    drv.execute_script("if (window.__real_fetch) window.fetch = window.__real_fetch;"
                       "window.__real_fetch = undefined;"
                       "if (window.__real_status) status = window.__real_status;"
                       "window.__real_status = undefined;")


def fill_inputs(form, se, values):
    for k, v in values.items():
        inp = form.find_element(se.By.NAME, k)
        inp.clear()
        inp.send_keys(v)


def save(form, se):
    """Click the form's button; its message once the answer is in."""
    msg = form.find_element(se.By.CLASS_NAME, "msg")
    form.find_element(se.By.CSS_SELECTOR, "button").click()
    until(lambda: msg.text == "Saved." or msg.text.startswith("Not saved") or msg.text == "Nothing changed.")
    return msg.text


def mqtt_form(tap, drv, api, se):
    form = drv.find_element(se.By.ID, "f-mqtt")
    st, before = api.json("GET", "/api/v1/config")
    if not tap.ok(st == 200 and isinstance(before, dict) and "MQTT" in before,
                  "GET /api/v1/config (%r)" % st):
        return
    until(lambda: drv.execute_script("return cfg !== null"), 5)
    record_requests(drv)
    # Enabled, towards a loopback port where nothing listens: no traffic leaves the machine.
    new = {"Broker": "mqtt://127.0.0.1:1", "Username": "web-user", "Password": "web-secret-9",
           "Site": "site-web"}
    form.find_element(se.By.CSS_SELECTOR, "input[name=enabled][value='1']").click()
    fill_inputs(form, se, new)
    text = save(form, se)
    tap.ok(text == "Saved.", "MQTT form saved (%r)" % text)
    new["Enabled"] = True
    st, after = api.json("GET", "/api/v1/config")
    got = {k: (after or {}).get("MQTT", {}).get(k) for k in ("Enabled", "Broker", "Username", "Site")}
    tap.ok(got == {k: new[k] for k in got},
           "GET /api/v1/config has the new Enabled, Broker, Username, Site (%r)" % got)
    tap.ok(after["MQTT"].get("Password") not in ("", new["Password"]),
           "the new password is set and not echoed (%r)" % after["MQTT"].get("Password"))
    reqs = sent(drv)
    tap.ok(len(reqs) >= 1 and reqs[0]["method"] == "PATCH" and reqs[0]["body"] == {"MQTT": new},
           "the PATCH carries only the MQTT fields that changed (%r)" % (reqs[:1],))
    tap.ok(form.find_element(se.By.NAME, "Password").get_attribute("value") == "",
           "the password box is empty again after saving")

    # Only the site changes; the untouched password box is not sent.
    record_requests(drv)
    fill_inputs(form, se, {"Site": "site-2"})
    text = save(form, se)
    reqs = sent(drv)
    tap.ok(text == "Saved." and reqs and reqs[0]["body"] == {"MQTT": {"Site": "site-2"}},
           "an untouched password is not sent (%r)" % (reqs[:1],))
    st, after2 = api.json("GET", "/api/v1/config")
    tap.ok(st == 200 and after2["MQTT"].get("Site") == "site-2"
           and after2["MQTT"].get("Password") == after["MQTT"].get("Password"),
           "Site is site-2, the password is still set (%r)" % after2["MQTT"].get("Password"))

    # A bad broker URL: the server's own message next to the field, nothing changed.
    bad = "not a url"
    st, err = api.json("PATCH", "/api/v1/config", {"MQTT": {"Broker": bad}})
    tap.ok(st == 400 and isinstance(err, dict) and err.get("field") == "MQTT.Broker",
           "PATCH with a bad broker: 400 naming MQTT.Broker (%r %r)" % (st, err))
    fill_inputs(form, se, {"Broker": bad})
    text = save(form, se)
    box = drv.execute_script("return document.querySelector('#f-mqtt [data-f=\"MQTT.Broker\"]')"
                             ".parentNode.querySelector('.err').textContent")
    want = (err or {}).get("error")
    tap.ok(want and box == want, "the server's error is shown next to the broker field (%r)" % box)
    tap.ok(text.startswith("Not saved") and want and want in text, "and in the form's message (%r)" % text)
    st, after3 = api.json("GET", "/api/v1/config")
    tap.ok(after3["MQTT"].get("Broker") == new["Broker"], "the rejected broker changed nothing (%r)"
           % after3["MQTT"].get("Broker"))


def telegram_panel(tap, drv, api, se):
    """The Telegram panel shows GET /api/v1/telegram's text, byte for byte."""
    st, _, body = api.call("GET", "/api/v1/telegram")
    drv.find_element(se.By.ID, "tg-b").click()
    shown = until(lambda: text_of(drv, "tg"), 10)
    tap.ok(st == 200 and shown == body.decode("ascii"),
           "the Telegram panel shows the last raw telegram (%d bytes, as the API gives it)" % len(shown or ""))


def submit_login(drv, se, password):
    form = until(lambda: drv.find_element(se.By.ID, "login").is_displayed()
                 and drv.find_element(se.By.ID, "login"), 10)
    if not form:
        return False
    for name, v in (("user", USER), ("password", password)):
        inp = form.find_element(se.By.NAME, name)
        inp.clear()
        inp.send_keys(v)
    form.find_element(se.By.TAG_NAME, "button").click()
    return True


def sign_in(drv, se, password=PASSWORD):
    """Through the page's form; whether the page then shows its content."""
    if not submit_login(drv, se, password):
        return False
    return bool(until(lambda: drv.find_element(se.By.TAG_NAME, "main").is_displayed(), 10))


def signed_in_despite_refusal(drv, se, password):
    """A password the daemon must refuse, through the page's form: whether the
    page shows its content once it has the answer (the form's message, which
    only a refusal writes, or the content)."""
    drv.execute_script("document.querySelector('#login .msg').textContent = ''")
    if not submit_login(drv, se, password):
        return False
    until(lambda: drv.find_element(se.By.TAG_NAME, "main").is_displayed()
          or drv.execute_script("return document.querySelector('#login .msg').textContent"), 10)
    return drv.find_element(se.By.TAG_NAME, "main").is_displayed()


def open_signed_in(tap, w, se, paths, port, password=PASSWORD):
    """A browser on the page at port, signed in through its form: (browser, driver)."""
    b = w.add(Browser(w.path))
    tap.on_failure.append(lambda: b.dump(tap))
    b.start(se, *paths)
    drv = b.driver
    drv.set_page_load_timeout(harness.TIMEOUT)
    drv.get("http://127.0.0.1:%d/" % port)
    tap.ok(sign_in(drv, se, password), "signed in through the form")
    return b, drv


def login_message(drv, se):
    return until(lambda: drv.find_element(se.By.ID, "login").is_displayed()
                 and text_of(drv, "login").strip() and drv.execute_script(
                     "return document.querySelector('#login .msg').textContent"), 15)


VISIBLE_JS = """
const skip = arguments[0], out = [], tw = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let n; (n = tw.nextNode());) {
    const v = n.nodeValue.trim(), p = n.parentElement;
    if (v && p.checkVisibility() && !(skip && p.closest(skip))) out.push(v);
}
for (const el of document.querySelectorAll("[placeholder],[aria-label]"))
    for (const a of ["placeholder", "aria-label"])
        if (el.getAttribute(a) && el.checkVisibility() && !(skip && el.closest(skip))) out.push(el.getAttribute(a));
return out;"""
# What the page fills in from the daemon (values, names, times), not its own words.
DATA = "[data-k],option,#conn,#n-left,#fw-v,#fw-s,#m-phases td,#c-max,[id^=e-],#cap-x,#tg,#mb td,#mb-s"


def visible(drv, skip=None):
    return drv.execute_script(VISIBLE_JS, skip)


def tables():
    t = {}
    for lang in ("fr", "nl"):
        with open(I18N_SRC % lang, encoding="utf-8") as f:
            t[lang] = json.load(f)
    return t


def english_left(strings, table):
    """The strings shown in English although the table has another word for them."""
    return sorted({v for v in strings if v in table and table[v] != v})


def switch_language(drv, se, lang):
    se.Select(drv.find_element(se.By.ID, "lang")).select_by_value(lang)
    return until(lambda: drv.execute_script("return document.documentElement.lang") == lang, 10)


def languages(tap, drv, se, url):
    """English, French and Dutch: every string of the page from the tables."""
    t = tables()
    en = visible(drv, DATA)
    missing = sorted({v for v in en if any(v not in t[lang] for lang in t)})
    tap.ok(len(en) > 60 and not missing,
           "all %d visible English strings of the page are in fr.json and nl.json %s" % (len(en), missing or ""))
    for lang, term in (("fr", "Paramètres réseau"), ("nl", "Netwerkinstellingen")):
        ok = switch_language(drv, se, lang)
        shown = visible(drv)
        left = english_left(shown, t[lang])
        changed = [v for v in shown if v in t[lang].values() and v not in t[lang]]
        tap.ok(ok and not left and len(changed) > 40,
               "switched to %s: %d strings changed, none left in English %s" % (lang, len(changed), left or ""))
        tap.ok(term in shown, "%s: the manual's term %r" % (lang, term))
    drv.get(url)
    kept = until(lambda: drv.execute_script("return document.documentElement.lang") == "nl"
                 and drv.find_element(se.By.TAG_NAME, "main").is_displayed(), 10)
    tap.ok(kept and "Netwerkinstellingen" in visible(drv), "reloaded: still Dutch (remembered), still signed in")
    ok = switch_language(drv, se, "en")
    shown = visible(drv)
    tap.ok(ok and "Network settings" in shown and not [v for v in shown if v in t["fr"].values()
                                                         and v not in t["fr"] and v not in t["nl"]],
           "back to English: no French left")
    tap.ok(until(lambda: text_of(drv, "m-P") == "1234 W", 10), "the values are back after the reload")


A11Y_JS = """
const lum = c => {
    const v = c.match(/[\\d.]+/g).slice(0, 3).map(x => x / 255).map(x => x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4);
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
};
const alpha = c => { const m = c.match(/[\\d.]+/g); return m.length > 3 ? +m[3] : 1; };
const bg = el => { for (; el; el = el.parentElement) { const b = getComputedStyle(el).backgroundColor; if (alpha(b) > 0.5) return b; } return "rgb(255, 255, 255)"; };
const low = [], unlabelled = [], tw = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let n; (n = tw.nextNode());) {
    const el = n.parentElement;
    if (!n.nodeValue.trim() || !el.checkVisibility() || el.closest("button:disabled")) continue;
    const cs = getComputedStyle(el), a = lum(cs.color), b = lum(bg(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const large = parseFloat(cs.fontSize) >= 24 || (parseFloat(cs.fontSize) >= 18.66 && +cs.fontWeight >= 700);
    if (ratio < (large ? 3 : 4.5)) low.push(n.nodeValue.trim().slice(0, 30) + " " + ratio.toFixed(2));
}
for (const el of document.querySelectorAll("input, select, textarea, button"))
    if (el.checkVisibility() && !(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.textContent.trim())
        unlabelled.push(el.outerHTML.slice(0, 60));
return [low, unlabelled];"""


def accessibility(tap, drv, label):
    low, unlabelled = drv.execute_script(A11Y_JS)
    tap.ok(not low, "%s: every visible text has a contrast of 4.5:1 or more (3:1 large) %s" % (label, low or ""))
    tap.ok(not unlabelled, "%s: every input, select and button has a label %s" % (label, unlabelled or ""))


def second_session(tap, drv, b1, se, driver_path, chrome_path, w, url):
    """Another browser (its own profile, its own cookies, Dutch as its language) signs in: the first page is told."""
    b2 = w.add(Browser(w.path))
    try:
        b2.start(se, driver_path, chrome_path, lang="nl,en")
        b2.driver.set_page_load_timeout(harness.TIMEOUT)
        b2.driver.get(url)
        nl = tables()["nl"]
        ok = until(lambda: b2.driver.execute_script("return document.documentElement.lang") == "nl", 10)
        shown = visible(b2.driver)
        tap.ok(ok and "Aanmelden" in shown and not english_left(shown, nl),
               "a browser asking for Dutch (Accept-Language nl) gets the sign-in form in Dutch %s"
               % (english_left(shown, nl) or ""))
        accessibility(tap, b2.driver, "sign-in form")
        # By keyboard only: the user name, Tab to the password, Enter.
        b2.driver.find_element(se.By.NAME, "user").click()
        b2.driver.switch_to.active_element.send_keys(USER + "\ue004" + PASSWORD + "\ue007")
        tap.ok(until(lambda: b2.driver.find_element(se.By.TAG_NAME, "main").is_displayed(), 10),
               "a second browser signs in with the keyboard (Tab, Enter)")
        msg = login_message(drv, se)
        tap.ok(msg == "signed in elsewhere",
               "the first browser's page shows the sign-in form with %r" % msg)
        tap.ok(sign_in(drv, se), "the first browser signs in again")
        msg2 = login_message(b2.driver, se)
        tap.ok(msg2 == "elders aangemeld", "and now the second browser's page says %r (Dutch)" % msg2)
    finally:
        b2.close()


def js(drv, expr):
    return drv.execute_script("return " + expr)


def network_form(tap, drv, api, se):
    """[Network] Manage=no, the default: the form is read-only, says who manages the network, and
    the page sends no PATCH of network keys."""
    form = drv.find_element(se.By.ID, "f-net")
    note = until(lambda: js(drv, "!$('#n-os').hidden && $('#n-edit').disabled && $('#n-os').textContent"), 10)
    st, s = api.json("GET", "/api/v1/status")
    tap.ok(st == 200 and ((s or {}).get("network") or {}).get("manager", {}).get("managed_by")
           == "operating-system" and note == "network managed by the operating system",
           "managed_by operating-system: the network form says %r" % note)
    controls = form.find_elements(se.By.CSS_SELECTOR, "input, button")
    tap.ok(len(controls) >= 8 and not any(c.is_enabled() for c in controls),
           "every network field and the save button are disabled (%d controls)" % len(controls))
    st, c = api.json("GET", "/api/v1/config")
    picked = js(drv, "(document.querySelector('#f-net input[name=netif]:checked') || {}).value")
    tap.ok(st == 200 and picked == c.get("DefaultNetIf"),
           "the form shows the stored connection read-only (%r)" % picked)
    record_requests(drv)
    drv.execute_script("document.getElementById('f-net').requestSubmit()")
    msg = form.find_element(se.By.CLASS_NAME, "msg")
    text = until(lambda: msg.text.startswith("Not saved") and msg.text, 5)
    st, c2 = api.json("GET", "/api/v1/config")
    tap.ok(text and "operating system" in text and sent(drv) == [] and c2 == c,
           "a submit anyway sends nothing and changes nothing (%r)" % text)

    # Managed by the daemon with a change pending (the status as the daemon gives it then).
    fake_managed(drv, 95)
    open_ = until(lambda: js(drv, "$('#n-os').hidden && !$('#n-edit').disabled && !$('#n-confirm').hidden"), 10)
    tap.ok(open_, "managed_by networkmanager: the form is editable and the pending change is shown")
    form.find_element(se.By.CSS_SELECTOR, "input[name=netif][value=Ethernet]").click()
    form.find_element(se.By.CSS_SELECTOR, "input[name=ipmode][value=Static]").click()
    shown = lambda name: form.find_element(se.By.NAME, name).is_displayed()  # noqa: E731
    tap.ok(shown("IpAddress") and not shown("ssid"),
           "Ethernet + Static IP: the address fields, no Wi-Fi fields")
    box = drv.find_element(se.By.ID, "n-confirm")
    tap.ok("95 s left" in box.text and drv.find_element(se.By.ID, "n-ok").is_displayed(),
           "the confirmation deadline and a confirm button (%r)" % box.text)
    record_requests(drv)
    drv.find_element(se.By.ID, "n-ok").click()
    cmsg = box.find_element(se.By.CLASS_NAME, "msg")
    answer = until(lambda: cmsg.text, 5)
    reqs = sent(drv)
    tap.ok(reqs and reqs[0]["method"] == "POST" and reqs[0]["url"].endswith("/api/v1/network/confirm")
           and answer and answer.startswith("Not confirmed") and "operating system" in answer,
           "confirm POSTs /api/v1/network/confirm; this daemon's refusal is shown (%r)" % answer)

    # The daemon's own 409 for a network PATCH reaches the form's message.
    fill_inputs(form, se, {"IpAddress": "192.168.10.101", "Netmask": "24", "Gateway": "192.168.10.1"})
    text = save(form, se)
    st, c3 = api.json("GET", "/api/v1/config")
    tap.ok(text.startswith("Not saved") and "Manage=networkmanager" in text and c3 == c,
           "a network PATCH refused with 409: the page says how to enable management (%r)" % text)

    # The page that made the change does not confirm it: only one loaded from the new address may.
    drv.execute_script("window.__fake_patch = true")
    form.find_element(se.By.CSS_SELECTOR, "input[name=netif][value=WiFi]").click()
    tap.ok(form.find_element(se.By.NAME, "ssid").is_displayed(), "Wi-Fi shows SSID and password")
    fill_inputs(form, se, {"ssid": "Test-SSID", "wpass": "wifi-pass-123"})
    form.find_element(se.By.CSS_SELECTOR, "button").click()
    text = until(lambda: msg.text.startswith("Saved.") and msg.text, 5)
    tap.ok(text and "confirm" in text and not drv.find_element(se.By.ID, "n-ok").is_displayed(),
           "after a network change: open the page again and confirm there, no button here (%r)" % text)
    drv.execute_script("window.__fake_patch = false")
    real_fetch(drv)
    back = until(lambda: js(drv, "!$('#n-os').hidden && $('#n-edit').disabled && $('#n-confirm').hidden"), 10)
    tap.ok(back, "the real status again: read-only, nothing pending")


def modbus_form(tap, drv, api, se):
    """The meter type applies at once: the status follows."""
    form = drv.find_element(se.By.ID, "f-modbus")
    se.Select(form.find_element(se.By.NAME, "MeterType")).select_by_visible_text("Eastron-SDM630")
    text = save(form, se)
    st, c = api.json("GET", "/api/v1/config")
    tap.ok(text == "Saved." and c.get("MeterType") == "Eastron-SDM630", "Modbus meter type saved (%r)" % text)
    broker = drv.find_element(se.By.CSS_SELECTOR, "#f-mqtt [name=Broker]").get_attribute("value")
    tap.ok(broker == "not a url",
           "saving one form leaves what was typed into another")
    st, s = api.json("GET", "/api/v1/status")
    tap.ok(st == 200 and (s.get("modbus") or {}).get("meter_type") == "Eastron-SDM630",
           "the status reports the new meter type")
    shown = until(lambda: drv.execute_script(
        "return document.querySelector('[data-k=\"modbus.meter_type\"]').textContent")
        == "Eastron-SDM630", 10)
    tap.ok(shown, "and so does the Modbus panel")


def stale(tap, drv, api):
    """No telegram for a while: the API says stale, the page says it too and greys the values."""
    t = time.monotonic()
    marked = until(lambda: drv.execute_script(
        "return document.getElementById('c-meter').classList.contains('stale')"
        " && document.getElementById('m-status').className === 'bad'"
        " && document.getElementById('m-status').textContent"), 30)
    same = until(lambda: (api.json("GET", "/api/v1/status")[1] or {}).get("meter", {}).get("status")
                 == drv.execute_script("return document.getElementById('m-status').textContent")
                 and api.json("GET", "/api/v1/status")[1]["meter"]["stale"] is True, 8, 0.5)
    tap.ok(marked and same, "stale meter data: the page shows the daemon's words %r, values greyed (%.1f s)"
           % (marked, time.monotonic() - t))


def reset(tap, drv, d, se):
    form = drv.find_element(se.By.ID, "f-reset")
    n = d.count()
    form.find_element(se.By.CSS_SELECTOR, "button").click()
    alert = until(lambda: alert_or_none(drv), 5)
    tap.ok(alert is not None, "Soft reset asks first")
    if alert is not None:
        alert.accept()
    i, _ = d.wait_for(r"Soft reset: reopening", n, 10)
    msg = until(lambda: form.find_element(se.By.CLASS_NAME, "msg").text, 10)
    tap.ok(i is not None and msg == "Reset done.",
           "Soft reset: the daemon reopens the tty, the page says %r" % msg)


def firmware(tap, drv, w, se):
    """The firmware card: the installed version, "Update" when the update
    helper's state file offers a newer one, and a refused update's message."""
    os.makedirs(w.join("state"), exist_ok=True)
    with open(w.join("state", "update-state.tmp"), "w") as f:
        f.write("state=idle\ninstalled=0.1.0\ncandidate=0.2.0\ntime=1796000000\n")
    os.replace(w.join("state", "update-state.tmp"), w.join("state", "update-state"))
    drv.execute_script("fw()")  # the card reads the firmware once a minute: now
    form = drv.find_element(se.By.ID, "f-fw")
    button = form.find_element(se.By.CSS_SELECTOR, "button")
    shown = until(lambda: button.is_displayed() and text_of(drv, "fw-v") == "0.1.0", 5)
    tap.ok(shown and "0.2.0 available" in text_of(drv, "fw-s"),
           "firmware: 0.1.0 installed, 0.2.0 offered, an Update button (%r %r)"
           % (text_of(drv, "fw-v"), text_of(drv, "fw-s")))
    button.click()
    alert = until(lambda: alert_or_none(drv), 5)
    tap.ok(alert is not None, "Update asks first")
    if alert is not None:
        alert.accept()
    msg = until(lambda: form.find_element(se.By.CLASS_NAME, "msg").text, 10)
    tap.ok(msg.startswith("Failed:") and "systemd" in msg, "no system bus here: the page says why (%r)" % msg)
    st = until(lambda: "failed" in text_of(drv, "fw-s") and text_of(drv, "fw-s"), 10)
    tap.ok(st and "system bus" in st, "firmware: the state shown as failed, with the reason (%r)" % st)


def alert_or_none(drv):
    try:
        return drv.switch_to.alert
    except Exception:
        return None


def phone(tap, drv, logdir):
    for w, h in ((390, 844), (360, 740)):
        drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": True})
        m = until(lambda: drv.execute_script(
            "const d = document.documentElement;"
            "return window.innerWidth === arguments[0] && [d.scrollWidth, d.clientWidth,"
            " Math.max(...Array.from(document.querySelectorAll('input,select,button,table,dd'))"
            ".map(e => e.getBoundingClientRect().right)),"
            " parseFloat(getComputedStyle(document.body).fontSize)];", w), 5)
        tap.ok(m and m[0] <= m[1] and m[2] <= w,
               "%dx%d: no horizontal scroll (scrollWidth %s, rightmost edge %s)"
               % (w, h, m and m[0], m and m[2]))
        tap.ok(m and m[3] >= 14, "%dx%d: body text %spx" % (w, h, m and m[3]))
    shot(tap, drv, 390, os.path.join(logdir, "webpage.png"))
    shot(tap, drv, 1280, os.path.join(logdir, "webpage-desktop.png"))


def shot(tap, drv, width, path):
    """The whole page at width CSS pixels, as PNG."""
    metrics = {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": width < 600}
    drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    height = until(lambda: drv.execute_script(
        "return window.innerWidth === arguments[0] && document.documentElement.scrollHeight", width), 5)
    metrics["height"] = int(height or 800)
    drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    data = drv.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    data = data["data"]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(base64.b64decode(data))
    print("# screenshot: %s" % path, flush=True)
    size = os.path.getsize(path)
    tap.ok(size > 10000, "screenshot at %d px wide saved (%d bytes)" % (width, size))


def status_fetches(drv):
    return drv.execute_script("return performance.getEntriesByType('resource')"
                              ".filter(e => e.name.endsWith('/api/v1/status')).length")


def fallback(tap, drv, se, api, w, pty, binary, text, sock, d):
    """The stream broken: the page polls the status every 3 s, then takes the stream again.

    Chromium is told to block GET /api/v1/live (DevTools' Network.setBlockedURLs),
    then the daemon is stopped, which ends the open stream. A second daemon
    takes over the same listening socket (socket activation), so the page's
    origin does not change. Returns the daemon now running."""
    drv.execute_cdp_cmd("Network.enable", {})
    drv.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/api/v1/live*"]})
    drv.execute_script("performance.clearResourceTimings()")
    harness.stop_and_check(tap, d, "web page, first daemon")
    # The test still holds the listening socket: the page's status request
    # waits in its backlog until the page's own 10 s timeout.
    down = until(lambda: drv.execute_script(
        "const c = document.getElementById('conn'); return c.className === 'bad' && c.textContent"), 30)
    tap.ok(down, "daemon gone: the page says so (%r)" % down)
    env = {"LISTEN_FDNAMES": "http", "DBUS_SYSTEM_BUS_ADDRESS": "unix:path=" + w.join("no-bus")}
    d = w.add(Daemon(binary, w.path, text, listen_fds=[sock], pid_env=[], env=env))
    # Sessions do not outlive the daemon: the page asks to sign in again.
    msg = login_message(drv, se)
    tap.ok(msg == "not signed in" and sign_in(drv, se),
           "new daemon: the page shows the sign-in form (%r) and signs in again" % msg)
    raw = mb.edit_telegram(harness.testdata(RAW), {"1-0:1.7.0": "00.777"})
    i, _ = harness.feed_until(d, pty, raw, harness.telegram_with_p(777))
    t = time.monotonic()
    p = until(lambda: text_of(drv, "m-P") == "777 W", 15)
    polls = status_fetches(drv)
    _, _, page = api.call("GET", "/metrics")
    streams = re.search(rb"^smartconnect_http_live_clients (\d+)", page, re.M)
    tap.ok(i is not None and p and polls >= 2 and streams and streams.group(1) == b"0",
           "stream blocked: the page polled GET /api/v1/status %d times and shows 777 W after %.1f s "
           "(%s live streams open)" % (polls, time.monotonic() - t, streams and streams.group(1).decode()))

    drv.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})

    def live_open():
        _, _, page = api.call("GET", "/metrics")
        m = re.search(rb"^smartconnect_http_live_clients (\d+)", page, re.M)
        return m and int(m.group(1)) >= 1
    back = until(live_open, 15, 0.5)
    before = status_fetches(drv)
    n = d.count()
    raw = mb.edit_telegram(harness.testdata(RAW), {"1-0:1.7.0": "00.888"})
    i, _ = harness.feed_until(d, pty, raw, harness.telegram_with_p(888), n)
    p = until(lambda: text_of(drv, "m-P") == "888 W", 10)
    time.sleep(7)
    after = status_fetches(drv)
    tap.ok(back and p and after == before,
           "stream unblocked: the page takes it again (%s), shows 888 W and stops polling (%d -> %d fetches"
           " over 7 s)" % (bool(back), before, after))
    return d


def run(tap, binary, se, driver_path, chrome_path):
    logdir = os.environ.get("MESON_LOGDIR") or os.path.join(os.getcwd(), "meson-logs")
    exp, ident = expected_values()
    raw = harness.testdata(RAW)
    with Workdir() as w:
        pty = w.add(Pty(w.join("ttyP1")))
        # The page turns MQTT on: its reachability checks stay on loopback.
        text = harness.config(pty.link, extra="User=%s\nPassword=%s\n\n[MQTT]\nPingGateway=127.0.0.2\n"
                              "PingHost=127.0.0.3\n" % (USER, PASSWORD))
        # The HTTP socket is the test's, passed as socket activation, so that a
        # second daemon can serve the same origin to the open page. No system bus
        # for the package updates: the same answer on every machine.
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        env = {"LISTEN_FDNAMES": "http", "DBUS_SYSTEM_BUS_ADDRESS": "unix:path=" + w.join("no-bus")}
        d = w.add(Daemon(binary, w.path, text, listen_fds=[sock], pid_env=[], env=env))
        tap.on_failure = [lambda: d.dump(tap)]
        i, m = d.wait_for(HTTP_RX)
        if not tap.ok(i is not None, "HTTP server listening (port from the log)"):
            return
        api = Api(int(m.group(1)))
        i, _ = harness.feed_until(d, pty, raw, harness.telegram_with_p(433))
        tap.ok(i is not None, "telegram decoded")
        check_auth(tap, api)

        t0 = time.monotonic()
        b = w.add(Browser(w.path))
        tap.on_failure.append(lambda: b.dump(tap))
        b.start(se, driver_path, chrome_path)
        drv = b.driver
        drv.set_page_load_timeout(harness.TIMEOUT)
        url = "http://127.0.0.1:%d/" % int(m.group(1))
        drv.get(url)
        tap.ok(drv.title == "SmartConnect", "the page loads in Chromium (%r)" % drv.title)
        hidden = drv.execute_script("return document.querySelector('main').hidden")
        tap.ok(hidden and not signed_in_despite_refusal(drv, se, "wrong-pw"),
               "signed out, the page shows only the sign-in form; a wrong password does not sign in")
        msg = login_message(drv, se)
        tap.ok(msg == "wrong user name or password", "the form says why (%r)" % msg)
        tap.ok(sign_in(drv, se), "signed in through the form")
        check_values(tap, drv, exp, ident)
        telegram_panel(tap, drv, api, se)

        # A new telegram, with markup as the meter id: the page follows without a
        # reload and shows the id as text.
        n = d.count()
        evil = "<b id=xss>YYY</b>"
        second = mb.edit_telegram(raw, {"1-0:1.7.0": "01.234", "0-0:96.1.1": evil.encode().hex()})
        i, _ = harness.feed_until(d, pty, second, harness.telegram_with_p(1234), n)
        tap.ok(i is not None, "second telegram (P = 1234 W, meter id %r) decoded" % evil)
        t = time.monotonic()
        p = until(lambda: text_of(drv, "m-P") == "1234 W", 10)
        tap.ok(p, "the page shows P = 1234 W after %.1f s, without a reload" % (time.monotonic() - t))
        tap.ok(drv.execute_script("return performance.getEntriesByType('navigation').length") == 1,
               "still the same document")
        # Pushed, not polled: the daemon has the page's live stream open (a stream
        # has no resource timing entry before it ends) and the page never asked
        # for the status.
        urls = drv.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        _, _, page = api.call("GET", "/metrics")
        streams = re.search(rb"^smartconnect_http_live_clients (\d+)", page, re.M)
        tap.ok(streams and int(streams.group(1)) >= 1 and not any(u.endswith("/api/v1/status") for u in urls),
               "the values came through GET /api/v1/live (%s open), no status polling"
               % (streams and streams.group(1).decode()))
        shown = until(lambda: evil in drv.execute_script("return document.body.innerText"), 5)
        tap.ok(shown and drv.execute_script("return document.getElementById('xss')") is None,
               "the meter id %r is shown as text, no element made of it" % evil)

        accessibility(tap, drv, "signed in")
        languages(tap, drv, se, url)
        mqtt_form(tap, drv, api, se)
        network_form(tap, drv, api, se)
        modbus_form(tap, drv, api, se)
        stale(tap, drv, api)
        reset(tap, drv, d, se)
        firmware(tap, drv, w, se)
        phone(tap, drv, logdir)
        second_session(tap, drv, b, se, driver_path, chrome_path, w, url)
        d = fallback(tap, drv, se, api, w, pty, binary, text, sock, d)
        # Refused requests (401, 400) are logged by the network; the page's script logs nothing.
        errs = [e for e in drv.get_log("browser") if e.get("source") != "network" and e.get("level") != "INFO"]
        tap.ok(not errs, "no script error or warning in the browser console %s" % (errs or ""))
        tap.diag("browser part: %.1f s" % (time.monotonic() - t0))
        b.close()
        left = b.processes()
        tap.ok(not left, "no Chromium, crash handler or chromedriver process left %s" % (left or ""))
        harness.stop_and_check(tap, d, "web page")


def browser_main(run):
    """The browser tests' main: run(tap, binary, se, (driver, chromium)) when all three are there."""
    tap = Tap()
    binary = harness.daemon_path()
    se = import_selenium()
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    chrome_path = chromium_binary()
    have = tap.ok(se is not None, "python3-selenium is installed")
    have = tap.ok(os.access(driver_path, os.X_OK), "chromedriver is installed (%s)" % driver_path) and have
    have = tap.ok(chrome_path is not None, "chromium is installed (%s)" % chrome_path) and have
    if have:
        try:
            run(tap, binary, se, (driver_path, chrome_path))
        except Exception:
            tap.ok(False, "no exception in the browser run")
            tap.diag(traceback.format_exc())
    return tap.done()


def main():
    return browser_main(lambda tap, binary, se, paths: run(tap, binary, se, *paths))


if __name__ == "__main__":
    sys.exit(main())
