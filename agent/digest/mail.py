"""Sending a digest: one multipart/alternative message (plain text + HTML) over SMTP.

Security is explicit: ``starttls`` refuses a server that does not offer STARTTLS, ``tls`` is
implicit TLS (port 465), and ``none`` is allowed only to a loopback relay. Nothing falls back
to plaintext. The subject carries the profile, the date and counts only; paper titles never
reach a header.
"""

from __future__ import annotations

import ipaddress
import logging
import smtplib
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, SecretStr

from agent.config.lists import one_address
from agent.digest.models import Digest, SendResult
from agent.errors import ConfigError, DeliveryError, InputError, MissingKeyError

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.digest.render import RenderedDigest

log = logging.getLogger(__name__)
Security = Literal["starttls", "tls", "none"]
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "tls": 465, "none": 25}
_BAD_HEADER_CHARS = dict.fromkeys(range(32), " ") | {127: " "}
_SETTINGS_HINT = "Check the [smtp] settings (`paperbrief config show`)."


class SmtpConfig(BaseModel):
    host: str
    port: int
    security: Security = "starttls"
    user: str | None = None
    password: SecretStr | None = None
    sender: str = Field(description="From address")
    ca_file: Path | None = Field(None, description="PEM file of CAs to trust (self-signed relay)")
    timeout: float = 30.0

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port} ({self.security})"

    @classmethod
    def from_settings(cls, settings: Settings, *, ca_file: Path | None = None) -> SmtpConfig:
        if not settings.smtp.host:
            raise ConfigError(
                "No SMTP server is configured.",
                hint="Set PAPERBRIEF_SMTP_HOST (and _PORT, _USER, _PASSWORD, _FROM), or use "
                "--out FILE / --dry-run instead of --email.",
            )
        sender = settings.smtp.from_addr or (
            settings.smtp.user if settings.smtp.user and "@" in settings.smtp.user else None
        )
        if not sender:
            raise ConfigError(
                "No sender address: `[smtp] from_addr` is not set.",
                hint="Set PAPERBRIEF_SMTP_FROM to the address the digest comes from.",
            )
        if settings.smtp.user and settings.smtp.password is None:
            raise MissingKeyError(
                f"`[smtp] user` is set ({settings.smtp.user}) but no SMTP password is.",
                hint="Set PAPERBRIEF_SMTP_PASSWORD (for Gmail or Outlook, an app password).",
            )
        return cls(
            host=settings.smtp.host,
            port=settings.smtp.port or DEFAULT_PORTS[settings.smtp.security],
            security=settings.smtp.security,
            user=settings.smtp.user,
            password=settings.smtp.password,
            sender=check_address(sender, what="[smtp] from_addr"),
            ca_file=ca_file or settings.smtp.ca_file,
            timeout=settings.smtp.timeout,
        )


def header_text(text: str, limit: int = 200) -> str:
    """Header-safe text: control characters (CR/LF included) become spaces."""
    return " ".join(text.translate(_BAD_HEADER_CHARS).split())[:limit]


def check_address(address: str, *, what: str = "recipient") -> str:
    """One e-mail address, parsed as an address (``"Doe, John" <john@example.org>`` is one,
    never split on its comma), as ``Name <addr>``; InputError for anything else."""
    try:
        return str(one_address(address.strip(), what=what))
    except ValueError as exc:
        raise InputError(
            f"{exc}.",
            hint="Give one address per item, like reader@example.org or "
            '"Reader, A." <reader@example.org>.',
        ) from None


def envelope_recipients(msg: EmailMessage) -> list[str]:
    """The addr-specs the To header names: what the SMTP server is asked to deliver to."""
    return [addr for _, addr in getaddresses(msg.get_all("To", [])) if addr]


def build_message(
    digest: Digest, rendered: RenderedDigest, to: Sequence[str], sender: str
) -> EmailMessage:
    recipients = [check_address(a) for a in to]
    if not recipients:
        raise InputError(
            "No recipients for the digest.",
            hint="Pass --email ADDR, or set `to` under [smtp] in the config.",
        )
    msg = EmailMessage()
    msg["Subject"] = header_text(digest.subject)
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "paperbrief.local"
    msg["Message-ID"] = make_msgid(idstring="paperbrief", domain=domain)  # no DNS lookup
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(rendered.txt)
    msg.add_alternative(rendered.html, subtype="html")
    return msg


def ssl_context_for(ca_file: Path | None) -> ssl.SSLContext:
    """Verifying context: the system CAs, or only ``ca_file`` when given."""
    if ca_file is None:
        return ssl.create_default_context()
    if not Path(ca_file).is_file():
        raise ConfigError(f"SMTP CA file {ca_file} does not exist.", hint=_SETTINGS_HINT)
    return ssl.create_default_context(cafile=str(ca_file))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def send_message(
    msg: EmailMessage, config: SmtpConfig, *, ssl_context: ssl.SSLContext | None = None
) -> SendResult:
    """Deliver ``msg`` to every address in its To header; DeliveryError when nothing went."""
    recipients = envelope_recipients(msg)
    with _smtp_errors(config), _session(config, ssl_context) as smtp:
        refused = smtp.send_message(msg, from_addr=parseaddr(config.sender)[1], to_addrs=recipients)
    accepted = [a for a in recipients if a not in refused]
    if refused:
        log.warning("SMTP server refused %d of %d recipients", len(refused), len(recipients))
    return SendResult(
        message_id=str(msg["Message-ID"]),
        subject=str(msg["Subject"]),
        accepted=accepted,
        refused={a: f"{c} {_reply(m)}" for a, (c, m) in refused.items()},
        server=config.label,
    )


def check_login(config: SmtpConfig, *, ssl_context: ssl.SSLContext | None = None) -> None:
    """Connect, secure and log in exactly as a delivery would, then QUIT without sending."""
    with _smtp_errors(config), _session(config, ssl_context):
        pass


@contextmanager
def _smtp_errors(config: SmtpConfig) -> Iterator[None]:
    """One place that turns smtplib/ssl/socket failures into DeliveryErrors with a fix."""
    try:
        yield
    except DeliveryError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(
            f"The SMTP server {config.label} refused the login for {config.user!r}: "
            f"{exc.smtp_code} {_reply(exc.smtp_error)}",
            hint="Check PAPERBRIEF_SMTP_USER and PAPERBRIEF_SMTP_PASSWORD (many providers need "
            "an app password).",
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        detail = "; ".join(f"{a}: {c} {_reply(m)}" for a, (c, m) in exc.recipients.items())
        raise DeliveryError(
            f"The SMTP server {config.label} refused every recipient: {detail}",
            hint="Check the addresses, and that the server relays for your account.",
        ) from None
    except smtplib.SMTPSenderRefused as exc:
        raise DeliveryError(
            f"The SMTP server {config.label} refused the sender {exc.sender!r}: "
            f"{exc.smtp_code} {_reply(exc.smtp_error)}",
            hint="Set PAPERBRIEF_SMTP_FROM to an address your account may send from.",
        ) from None
    except ssl.SSLCertVerificationError as exc:
        raise DeliveryError(
            f"The certificate of the SMTP server {config.label} could not be verified: "
            f"{exc.verify_message}.",
            hint="For a self-signed relay set `[smtp] ca_file` to its CA certificate (PEM).",
        ) from None
    except ssl.SSLError as exc:
        raise DeliveryError(
            f"TLS with the SMTP server {config.label} failed: {exc}.",
            hint='Port 465 needs `[smtp] security = "tls"`, port 587 needs starttls.',
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(
            f"Could not send through the SMTP server {config.label}: {type(exc).__name__}: {exc}",
            hint="Check `[smtp] host`, `port` and your network; " + _SETTINGS_HINT,
        ) from None


@contextmanager
def _session(config: SmtpConfig, ssl_context: ssl.SSLContext | None) -> Iterator[smtplib.SMTP]:
    """A connected, secured and logged-in SMTP session; never a silent plaintext fallback."""
    if config.security == "none" and not _is_loopback(config.host):
        raise DeliveryError(
            f"`[smtp] security` is 'none' but {config.host} is not this machine: the digest and "
            "your password would cross the network unencrypted.",
            hint="Set PAPERBRIEF_SMTP_SECURITY=starttls (port 587) or tls (port 465).",
        )
    context = ssl_context if ssl_context is not None else ssl_context_for(config.ca_file)
    smtp: smtplib.SMTP
    if config.security == "tls":
        smtp = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout, context=context)
    else:
        smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    with smtp:
        smtp.ehlo()
        if config.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise DeliveryError(
                    f"The SMTP server {config.label} does not offer STARTTLS; not sending the "
                    "digest in plaintext.",
                    hint='Use `[smtp] security = "tls"` (port 465) if the server speaks implicit '
                    'TLS, or `security = "none"` for a relay on this machine (localhost only).',
                )
            smtp.starttls(context=context)
            smtp.ehlo()
        if config.user:
            if not smtp.has_extn("auth"):
                raise DeliveryError(
                    f"The SMTP server {config.label} offers no login (AUTH) on this connection.",
                    hint="Check `[smtp] security` and `port`, or unset `user` for a relay.",
                )
            password = config.password.get_secret_value() if config.password else ""
            smtp.login(config.user, password)
        yield smtp


def _reply(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return header_text(text, 300)


def send_digest(
    digest: Digest,
    to: Sequence[str],
    settings: Settings,
    *,
    rendered: RenderedDigest | None = None,
    ssl_context: ssl.SSLContext | None = None,
    config: SmtpConfig | None = None,
) -> SendResult:
    """Render (unless given), build the message and send it to ``to``."""
    from agent.digest.render import render_all

    to = [check_address(a) for a in to]  # a bad address fails before any connection
    config = config or SmtpConfig.from_settings(settings)
    msg = build_message(digest, rendered or render_all(digest), to, config.sender)
    return send_message(msg, config, ssl_context=ssl_context)
