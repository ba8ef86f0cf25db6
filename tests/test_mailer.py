"""The mailer against real aiosmtpd servers on 127.0.0.1: plain relay, STARTTLS, implicit TLS,
login refused, no STARTTLS offered, untrusted certificate, bad addresses."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from smtpserver import free_port, smtp_server

from agent.config import Settings
from agent.digest.mail import SmtpConfig, build_message, send_digest, send_message
from agent.digest.models import Digest, DigestPaper
from agent.digest.render import render_all
from agent.errors import ConfigError, DeliveryError, InputError


@pytest.fixture(scope="session")
def cert(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 made with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not available")
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(crt),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return crt, key


def server_context(cert) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*cert)
    return ctx


def small_digest(title: str = "Plain title") -> Digest:
    paper = DigestPaper(
        id="2401.00001",
        title=title,
        url="https://arxiv.org/abs/2401.00001",
        authors_short="Ada Lovelace",
        tldr="It works.",
    )
    return Digest(id="t1", created_at=datetime(2026, 11, 24, 6, tzinfo=UTC), papers=[paper])


def config(port: int, **kw) -> SmtpConfig:
    base = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": "pb@example.org",
        "timeout": 10,
    }
    return SmtpConfig(**(base | kw))


def test_plain_loopback_relay_delivers_both_parts_to_several_recipients():
    digest = small_digest()
    with smtp_server() as (sink, port):
        msg = build_message(
            digest, render_all(digest), ["a@example.org", "b@example.org"], "pb@example.org"
        )
        result = send_message(msg, config(port))
    assert result.accepted == ["a@example.org", "b@example.org"]
    assert sink.envelopes[0].rcpt_tos == ["a@example.org", "b@example.org"]
    got = sink.messages()[0]
    assert got.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in got.iter_parts()] == ["text/plain", "text/html"]
    assert got["Subject"] == digest.subject
    assert "Plain title" in got.get_body(("plain",)).get_content()


def test_starttls_with_custom_ca_file_and_login(cert):
    with smtp_server(starttls=server_context(cert), user="u", password="p") as (sink, port):
        cfg = config(port, security="starttls", user="u", password="p", ca_file=cert[0])
        result = send_digest(small_digest(), ["r@example.org"], Settings(), config=cfg)
    assert result.accepted == ["r@example.org"]
    assert len(sink.envelopes) == 1


def test_implicit_tls_with_injected_ssl_context(cert):
    client = ssl.create_default_context(cafile=str(cert[0]))
    with smtp_server(implicit=server_context(cert)) as (sink, port):
        cfg = config(port, security="tls")
        send_digest(small_digest(), ["r@example.org"], Settings(), config=cfg, ssl_context=client)
    assert len(sink.envelopes) == 1


def test_untrusted_certificate_is_a_clear_error_not_a_plaintext_retry(cert):
    with (
        smtp_server(starttls=server_context(cert)) as (sink, port),
        pytest.raises(DeliveryError) as err,
    ):
        send_digest(
            small_digest(),
            ["r@example.org"],
            Settings(),
            config=config(port, security="starttls"),
        )
    assert "could not be verified" in str(err.value)
    assert "[smtp] ca_file" in err.value.hint
    assert sink.envelopes == []


def test_server_without_starttls_is_refused_instead_of_plaintext():
    with (
        smtp_server() as (sink, port),
        pytest.raises(DeliveryError, match="does not offer STARTTLS"),
    ):
        send_digest(
            small_digest(),
            ["r@example.org"],
            Settings(),
            config=config(port, security="starttls"),
        )
    assert sink.envelopes == []


def test_refused_login_names_server_and_user():
    with (
        smtp_server(user="u", password="right") as (sink, port),
        pytest.raises(DeliveryError) as err,
    ):
        send_digest(
            small_digest(),
            ["r@example.org"],
            Settings(),
            config=config(port, user="u", password="wrong"),
        )
    message = str(err.value)
    assert "refused the login" in message and "'u'" in message and str(port) in message
    assert "wrong" not in message  # the password never appears in errors
    assert "PAPERBRIEF_SMTP_PASSWORD" in err.value.hint
    assert sink.envelopes == []


def test_unreachable_server_is_a_delivery_error():
    with pytest.raises(DeliveryError, match="Could not send"):
        send_digest(small_digest(), ["r@example.org"], Settings(), config=config(free_port()))


def test_plaintext_to_a_remote_host_is_refused_before_connecting():
    cfg = config(25, host="smtp.example.org")
    with pytest.raises(DeliveryError, match="unencrypted"):
        send_digest(small_digest(), ["r@example.org"], Settings(), config=cfg)


@pytest.mark.parametrize("bad", ["no-at-sign", "a@b.org\nBcc: evil@x.org", "", "a b@c.org"])
def test_bad_recipient_is_rejected_before_any_header_is_built(bad):
    digest = small_digest()
    with pytest.raises(InputError):
        build_message(digest, render_all(digest), [bad], "pb@example.org")


def test_title_with_newline_never_reaches_the_headers():
    digest = small_digest("Evil\r\nBcc: victim@example.org <script>alert(1)</script>")
    msg = build_message(digest, render_all(digest), ["r@example.org"], "pb@example.org")
    headers = "".join(f"{k}: {v}\n" for k, v in msg.items())
    assert "victim" not in headers and "Evil" not in headers and "script" not in headers
    assert msg["Bcc"] is None


def test_settings_without_host_or_sender_say_what_to_set():
    with pytest.raises(ConfigError, match="No SMTP server"):
        SmtpConfig.from_settings(Settings())
    with pytest.raises(ConfigError, match=r"\[smtp\] from_addr"):
        SmtpConfig.from_settings(Settings(smtp_host="mail.example.org"))
    cfg = SmtpConfig.from_settings(
        Settings(smtp_host="mail.example.org", smtp_security="tls", smtp_from="pb@example.org")
    )
    assert (cfg.port, cfg.security) == (465, "tls")


def test_settings_from_environment(monkeypatch):
    for key, value in {
        "HOST": "mail.example.org",
        "PORT": "2525",
        "USER": "me@example.org",
        "PASSWORD": "s3cret",
        "SECURITY": "starttls",
    }.items():
        monkeypatch.setenv(f"PAPERBRIEF_SMTP_{key}", value)
    cfg = SmtpConfig.from_settings(Settings())
    assert (cfg.host, cfg.port, cfg.user, cfg.sender) == (
        "mail.example.org",
        2525,
        "me@example.org",
        "me@example.org",
    )
    assert cfg.password is not None and cfg.password.get_secret_value() == "s3cret"
