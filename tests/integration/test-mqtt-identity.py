#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The device identity for mutual TLS. `smartconnectd --generate-key` makes
the device key once (mode 0600; a second run leaves it byte for byte and
inode for inode). `smartconnectd --csr` prints a request that `openssl req
-verify` accepts, with CN = the serial (a dotted one too) and the device
key's public key. A test CA signs it; with the certificate next to the key
and no CertFile=/KeyFile= set, the daemon connects to a mosquitto listener
that requires client certificates and takes the CN as the user name, whose
ACL lets that user publish only under its own serial. Without the
certificate in place the same broker refuses the daemon."""

import os
import subprocess

import harness
import mqttlib
from harness import Daemon, Pty, Tap, Workdir
from mqttlib import BASE, CONNECTED_RX, FAILED_RX, SERIAL, Broker, Sub


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, timeout=60, **kw)


def main():
    binary = harness.daemon_path()
    tap = Tap()
    with Workdir() as w:
        state = w.join("state")
        os.makedirs(state, exist_ok=True)
        key = os.path.join(state, "device.key")
        p = run([binary, "--state-dir", state, "--generate-key"])
        st = os.stat(key) if os.path.exists(key) else None
        tap.ok(p.returncode == 0 and st and (st.st_mode & 0o777) == 0o600 and st.st_uid == os.getuid(),
               "--generate-key: the key made, mode 0600, owned by the user who ran it")
        first = open(key, "rb").read()
        p = run([binary, "--state-dir", state, "--generate-key"])
        st2 = os.stat(key)
        tap.ok(p.returncode == 0 and open(key, "rb").read() == first and st2.st_ino == st.st_ino and
               st2.st_mtime_ns == st.st_mtime_ns, "a second run leaves the key as it was")

        link = w.join("ttyUSB0")
        pty = w.add(Pty(link))
        conf = w.join("dotted.conf")
        with open(conf, "w") as f:
            f.write("[Device]\nSerial=SC.77\n")
        p = run([binary, "--config", conf, "--state-dir", state, "--csr"])
        v = run(["openssl", "req", "-verify", "-noout", "-subject", "-nameopt", "RFC2253"], input=p.stdout)
        tap.ok(p.returncode == 0 and v.returncode == 0 and b"CN=SC.77" in v.stdout,
               "--csr with a dotted serial: verified, CN=SC.77 (%r)" % v.stdout)

        pki = mqttlib.make_pki(w)
        port = mqttlib.free_port()
        text = mqttlib.mqtt_config(link, "mqtts://localhost:%d" % port, "CAFile=%s\n" % pki["ca.crt"])
        with open(w.join("smartconnect.conf"), "w") as f:
            f.write(text)
        p = run([binary, "--config", w.join("smartconnect.conf"), "--state-dir", state, "--csr"])
        csr = w.join("device.csr")
        with open(csr, "wb") as f:
            f.write(p.stdout)
        v = run(["openssl", "req", "-verify", "-noout", "-subject", "-nameopt", "RFC2253", "-in", csr])
        tap.ok(p.returncode == 0 and v.returncode == 0 and ("CN=%s" % SERIAL).encode() in v.stdout and
               b"verify OK" in v.stdout + v.stderr, "--csr: openssl req -verify OK, CN=%s" % SERIAL)
        pub_csr = run(["openssl", "req", "-in", csr, "-noout", "-pubkey"]).stdout
        pub_key = run(["openssl", "pkey", "-in", key, "-pubout"]).stdout
        tap.ok(pub_csr and pub_csr == pub_key, "the request carries the device key's public key")

        acl = w.join("acl")
        with open(acl, "w") as f:
            f.write("pattern readwrite devices/+/smart-connect/%u/#\n")
        broker = w.add(Broker(w, "broker", "listener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\n"
                              "require_certificate true\nuse_identity_as_username true\nacl_file %s\n" %
                              (port, pki["ca.crt"], pki["server.crt"], pki["server.key"], acl)))
        sub = w.add(Sub(broker.port, (BASE + "/status",)))

        d = w.add(Daemon(binary, w.path, text))
        tap.on_failure = [lambda: d.dump(tap)]
        i, m = d.wait_for(FAILED_RX)
        tap.ok(i is not None, "no certificate yet: the broker refuses the daemon (%s)" % (m and m.group(1)))
        harness.stop_and_check(tap, d, "without the certificate")

        crt = os.path.join(state, "device.crt")
        s = run(["openssl", "x509", "-req", "-in", csr, "-CA", pki["ca.crt"], "-CAkey", pki["ca.key"],
                 "-CAcreateserial", "-out", crt, "-days", "2"])
        tap.ok(s.returncode == 0, "the test CA signs the request")
        d = w.add(Daemon(binary, w.path, text))
        tap.on_failure = [lambda: d.dump(tap)]
        tap.ok(d.wait_for(CONNECTED_RX)[0] is not None,
               "with device.crt next to the key and no CertFile=/KeyFile=: connected over mutual TLS")
        tap.ok(sub.wait_for(BASE + "/status", lambda x: x == "online") is not None,
               "'online' published under its own serial, which the ACL allows only to CN=%s" % SERIAL)
        harness.stop_and_check(tap, d, "with the certificate")
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
