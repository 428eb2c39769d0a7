#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The HTTPS listener speaks TLS 1.2 and 1.3 only: openssl s_client handshakes
with -tls1 and -tls1_1 fail, with -tls1_2 and -tls1_3 they succeed. The
client runs at security level 0 so that a refusal is the server's; a control
openssl s_server that allows TLS 1.0 and 1.1 shows that this client can
speak them (when it cannot, the refusal checks are skipped as inconclusive)."""

import re
import socket
import subprocess
import time

import harness
import httpapi
import mqttlib
from harness import Tap, Workdir, stop_and_check
from httpapi import Api

VERSIONS = [("-tls1", "TLSv1"), ("-tls1_1", "TLSv1.1"), ("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")]


def handshake(port, flag):
    """The protocol the handshake agreed on, or None."""
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, flag, "-cipher", "DEFAULT@SECLEVEL=0"]
    if flag == "-tls1_3":
        cmd = cmd[:-2]
    try:
        p = subprocess.run(cmd, input=b"", capture_output=True, timeout=20)
    except subprocess.TimeoutExpired:
        return None
    out = p.stdout.decode("latin-1")
    m = re.search(r"^New, (TLSv[\d.]+), Cipher is (\S+)", out, re.M)
    if p.returncode != 0 or not m or m.group(2) == "(NONE)":
        return None
    return m.group(1)


def control(w, cert, key, flag):
    """Whether this openssl client completes a flag handshake with an openssl server that allows it."""
    port = mqttlib.free_port()
    srv = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-cert", cert, "-key", key,
                            flag, "-cipher", "DEFAULT@SECLEVEL=0", "-www"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        return handshake(port, flag) is not None
    finally:
        srv.kill()
        srv.wait()


def main():
    binary = harness.daemon_path()
    tap = Tap()
    with Workdir() as w:
        cert, key = w.join("cert.pem"), w.join("key.pem")
        if not tap.ok(httpapi.make_cert(cert, key), "openssl made a self-signed certificate"):
            return tap.done()
        text = httpapi.http_config(w.join("meter")).replace(
            "[HTTP]\n", "[HTTP]\nCertificate=%s\nKey=%s\n" % (cert, key))
        d, port = httpapi.start(tap, binary, w, text)
        if port:
            st, _ = Api(port, scheme="https", cacert=cert).json("GET", "/api/v1/status")
            tap.ok(st == 200, "HTTPS: status served (%r)" % st)
            for flag, name in VERSIONS:
                got = handshake(port, flag)
                if name in ("TLSv1.2", "TLSv1.3"):
                    tap.ok(got == name, "%s handshake succeeds (%r)" % (name, got))
                elif control(w, cert, key, flag):
                    tap.ok(got is None, "%s handshake fails, while this client does %s with openssl s_server (%r)"
                           % (name, name, got))
                else:
                    print("ok - %s: this openssl client cannot speak it at all # SKIP inconclusive" % name)
        stop_and_check(tap, d, "TLS versions")
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
