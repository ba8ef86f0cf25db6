"""A real SMTP server (aiosmtpd) on 127.0.0.1 for tests: ``with smtp_server() as (sink, port)``.
Optional STARTTLS, implicit TLS and a login; ``sink`` keeps what arrived. Addresses in
``sink.refuse`` (``smtp_server(refuse={...})``, changeable while it runs) are refused at RCPT
with 550, the others accepted."""

from __future__ import annotations

import socket
import ssl
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    def __init__(self, refuse: set[str] | None = None) -> None:
        self.envelopes: list = []
        self.refuse: set[str] = set(refuse or ())

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


def authenticator(user: str, password: str):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False)

    return check


@contextmanager
def smtp_server(
    *,
    starttls: ssl.SSLContext | None = None,
    implicit: ssl.SSLContext | None = None,
    user: str | None = None,
    password: str = "",
    refuse: set[str] | None = None,
):
    """A real SMTP server in a thread; yields (sink, port)."""
    sink = Sink(refuse)
    port = free_port()
    kwargs: dict = {}
    if starttls is not None:
        kwargs.update(tls_context=starttls, require_starttls=True)
    if implicit is not None:
        kwargs.update(ssl_context=implicit, server_hostname="127.0.0.1")
    if user is not None:
        kwargs.update(authenticator=authenticator(user, password), auth_require_tls=False)
    controller = Controller(sink, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()
