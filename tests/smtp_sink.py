"""A real SMTP server for the tests (aiosmtpd), run as its own process: every message it takes is saved.

    python tests/smtp_sink.py PORT FOLDER [USER:PASSWORD]

Each message becomes FOLDER/N.eml (the DATA as received, with a Received header prepended, as a real
server adds one) and FOLDER/N.json (envelope sender and recipients). With USER:PASSWORD the server
requires AUTH (PLAIN or LOGIN) without TLS, which is fine on 127.0.0.1. It prints "ready" once listening.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        with self.lock:
            self.count += 1
            n = self.count
        peer = getattr(session, "peer", ("?", 0))[0]
        received = f"Received: from {peer} by contentpipe-test-sink; envelope-from <{envelope.mail_from}>\r\n"
        (self.folder / f"{n}.eml").write_bytes(received.encode() + envelope.original_content)
        (self.folder / f"{n}.json").write_text(json.dumps({"from": envelope.mail_from, "to": envelope.rcpt_tos}))
        return "250 Message accepted for delivery"


def main() -> None:
    port, folder = int(sys.argv[1]), Path(sys.argv[2])
    credentials = sys.argv[3].split(":", 1) if len(sys.argv) > 3 else None

    def authenticator(server: object, session: object, envelope: object, mechanism: str,
                      auth_data: object) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and credentials is not None
              and auth_data.login.decode() == credentials[0] and auth_data.password.decode() == credentials[1])
        return AuthResult(success=ok, handled=False)

    options = {"authenticator": authenticator, "auth_required": True, "auth_require_tls": False} if credentials else {}
    controller = Controller(Sink(folder), hostname="127.0.0.1", port=port, **options)
    controller.start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
