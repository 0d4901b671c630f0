"""A real SMTP server for the e-mail report tests: aiosmtpd (PyPI) on 127.0.0.1.

Each message it accepts is written to OUT_DIR as `<n>.eml` (the data as received) and
`<n>.json` (the envelope: sender, recipients, the login used, if any, whether TLS was on; and
the message decoded: subject, content type, and each part's text by its content type). It prints `READY`
once it listens and stops when its standard input closes (the test ends or drops it).

    python smtp_sink.py PORT OUT_DIR [--user U --password P] [--cert C --key K]

With --user/--password, AUTH (PLAIN, LOGIN) is required and checked. With --cert/--key,
STARTTLS is offered and required before anything else (and before AUTH).
"""

import argparse
import email
import email.policy
import json
import os
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        base = os.path.join(self.out_dir, str(n))
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        parts = {}
        for part in message.walk():
            if not part.is_multipart():
                parts[part.get_content_type()] = part.get_content()
        meta = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "login": login,
            "tls": session.ssl is not None,
            "subject": str(message["subject"]),
            "content_type": message.get_content_type(),
            "parts": parts,
        }
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".tmp", "w") as f:
            json.dump(meta, f)
        # The test waits for the .json; it appears complete or not at all.
        os.replace(base + ".tmp", base + ".json")
        return "250 OK"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("out_dir")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--cert")
    p.add_argument("--key")
    a = p.parse_args()

    kwargs = {}
    if a.user is not None:
        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == a.user
                and auth_data.password.decode() == a.password
            )
            return AuthResult(success=ok, auth_data=auth_data if ok else None)

        kwargs.update(authenticator=authenticator, auth_required=True)
    if a.cert is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(a.cert, a.key)
        kwargs.update(tls_context=context, require_starttls=True, auth_require_tls=True)
    else:
        # Plain on loopback only: the test's own machine.
        kwargs.update(auth_require_tls=False)

    controller = Controller(Sink(a.out_dir), hostname="127.0.0.1", port=a.port, **kwargs)
    controller.start()
    print("READY", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
