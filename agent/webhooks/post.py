"""Post a digest's chat message to webhooks through apprise, one channel at a time, and report
each channel's outcome.

apprise knows each service's URL scheme, payload, markup dialect and size limit; this module
asks it for the limit and the dialect (``body_maxlen``, ``dialect_convert``) so the message is
cut to what the service takes, and picks the markup per service: Markdown for Slack (apprise
turns CommonMark into mrkdwn), Discord, Teams workflows and generic JSON, Markdown sent as text
to Mattermost (which renders it; apprise's Mattermost plugin only declares text), HTML for
Matrix and Telegram.

A webhook URL holds its token: only ``Channel.label`` (service and host) is ever shown or
logged, and apprise's own log lines and failure reasons are masked while a post runs.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import BaseModel, Field

from agent.config.secrets import MASK, mask_url, mask_webhook_url
from agent.webhooks.message import ChatMessage, Markup, MessageOptions, build_message

if TYPE_CHECKING:
    from agent.digest.models import Digest

log = logging.getLogger(__name__)
#: Kept under each service's own limit: apprise strips and joins a little around the body.
MARGIN = 16
#: Schemes whose plugin declares one format but whose service renders another markup.
_MARKUP_BY_SCHEME: dict[str, tuple[Markup, str]] = {
    "mmost": ("markdown", "text"),
    "mmosts": ("markdown", "text"),
    "matrix": ("html", "html"),
    "matrixs": ("html", "html"),
    "tgram": ("html", "html"),
}
#: Discord unfurls every link into a preview card; <url> links do not.
_ANGLE_LINKS = {"discord"}


class Channel(BaseModel):
    """One webhook. ``url`` never leaves this object: reports carry ``label`` and ``key``."""

    url: str = Field(repr=False, exclude=True)
    key: str = Field(description="hash of the URL: names the channel in the history")
    label: str = Field(description="the URL masked: service and host only")

    @classmethod
    def of(cls, url: str) -> Channel:
        url = url.strip()
        key = hashlib.sha256(url.encode()).hexdigest()[:16]
        return cls(url=url, key=key, label=mask_webhook_url(url))

    def secrets(self) -> list[str]:
        """The parts of the URL that may be a token, longest first, for masking text."""
        parts = urlsplit(self.url)
        found = [seg for seg in re.split(r"[/:@#]", parts.netloc + parts.path) if seg]
        found += [unquote(v) for _, v in parse_qsl(parts.query)] + [parts.fragment]
        host = parts.hostname or ""
        if host and host in self.label:
            found = [f for f in found if f != host and f not in {str(parts.port)}]
        return sorted({f for f in found if len(f) >= 4}, key=len, reverse=True)


class PostResult(BaseModel):
    """What became of one digest at one channel."""

    channel: str = Field(description="the masked URL")
    key: str
    digest_id: str
    status: Literal["posted", "failed", "skipped"]
    reason: str = Field("", description="why it failed or was skipped (masked)")
    retried: bool = Field(False, description="an earlier digest's failed post, tried again")
    chars: int = 0
    limit: int = 0
    left_out: int = Field(0, description="lines left out or shortened to fit the limit")


class PostReport(BaseModel):
    results: list[PostResult] = Field(default_factory=list)

    @property
    def failed(self) -> list[PostResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def posted(self) -> list[PostResult]:
        return [r for r in self.results if r.status == "posted"]

    @property
    def ok(self) -> bool:
        return not self.failed


class Notifier(Protocol):
    """Posts one digest to one channel (with the link to its full version, if known)."""

    def __call__(self, channel: Channel, digest: Digest, full_link: str | None) -> PostResult: ...


class AppriseNotifier:
    """The default notifier: apprise, one ``Apprise`` object per channel. A post that has no
    answer ``deadline`` seconds after it started is given up on (apprise's own timeouts are
    per read); it is then reported failed and retried by the next run."""

    def __init__(self, *, timeout: float | None = None, deadline: float | None = 300.0) -> None:
        self.timeout = timeout
        self.deadline = deadline

    def __call__(self, channel: Channel, digest: Digest, full_link: str | None) -> PostResult:
        import apprise

        result = PostResult(channel=channel.label, key=channel.key, digest_id=digest.id,
                            status="failed")  # fmt: skip
        asset = apprise.AppriseAsset(app_id="paperbrief", app_desc="paperbrief digest")
        notifier = apprise.Apprise(asset=asset)
        with _masked_apprise_logs(channel):
            if not notifier.add(channel.url):
                result.reason = mask_secrets(
                    "apprise does not accept this URL (unknown scheme or a missing token); see "
                    "https://appriseit.com/services/ for each service's URL form",
                    channel,
                )
                return result
            service = notifier[0]
            message, body_format = prepare(service, channel, digest, full_link)
            result.chars, result.limit, result.left_out = (
                message.chars, message.limit, message.left_out
            )  # fmt: skip
            send = functools.partial(
                notifier.notify, body=message.body, title=message.title, body_format=body_format
            )
            call = functools.partial(send, timeout=self.timeout) if self.timeout else send
            finished, sent = _within(self.deadline, channel, call)
        if not finished:
            result.reason = (
                f"no answer within {self.deadline:g} s (http.deadline): paperbrief stopped "
                "waiting; the post may still arrive"
            )
            return result
        if sent:
            result.status = "posted"
        else:
            result.reason = mask_secrets(_why(sent), channel)
        return result


def _within(deadline: float | None, channel: Channel, call: Callable[[], Any]) -> tuple[bool, Any]:
    """(True, ``call()``), or (False, None) when it has not returned after ``deadline``
    seconds: it runs on in a daemon thread, its log lines still masked, its outcome dropped."""
    box: dict[str, Any] = {}

    def run() -> None:
        with _masked_apprise_logs(channel):
            try:
                box["value"] = call()
            except BaseException as exc:  # handed to the caller's thread below
                box["error"] = exc

    thread = threading.Thread(target=run, name="paperbrief-webhook", daemon=True)
    thread.start()
    thread.join(deadline)
    if thread.is_alive():
        return False, None
    if "error" in box:
        raise box["error"]
    return True, box.get("value")


def prepare(
    service: Any, channel: Channel, digest: Digest, full_link: str | None
) -> tuple[ChatMessage, str]:
    """The message for an apprise service object, and the body format to declare to apprise."""
    scheme = _scheme(service, channel)
    markup, body_format = _markup(service, scheme)
    title_in_body = service.title_maxlen <= 0 or bool(
        getattr(service, "overflow_amalgamate_title", False)
    )
    limit = int(service.body_maxlen) - MARGIN

    def measure(body: str) -> int:
        # the text the service receives: apprise converts Markdown to Slack mrkdwn etc.
        return len(service.dialect_convert(body, body_format))

    options = MessageOptions(
        markup=markup, limit=limit, full_link=full_link, title_in_body=title_in_body,
        angle_links=scheme in _ANGLE_LINKS, measure=measure,
    )  # fmt: skip
    return build_message(digest, options), body_format


def _scheme(service: Any, channel: Channel) -> str:
    """The plugin's own scheme (a native https://hooks.slack.com/... URL is a Slack one)."""
    names: list[str] = []
    for attr in ("secure_protocol", "protocol"):
        value = getattr(service, attr, None)
        names += [value] if isinstance(value, str) else list(value or ())
    known = [n.lower() for n in names if n.lower() in _MARKUP_BY_SCHEME or n in _ANGLE_LINKS]
    return known[0] if known else channel.url.split("://", 1)[0].lower()


def _markup(service: Any, scheme: str) -> tuple[Markup, str]:
    if scheme in _MARKUP_BY_SCHEME:
        return _MARKUP_BY_SCHEME[scheme]
    formats = service.notify_format
    formats = [str(getattr(f, "value", f)) for f in (formats if isinstance(formats, tuple) else
                                                     (formats,))]  # fmt: skip
    for markup in ("markdown", "html"):
        if markup in formats:
            return markup, markup
    return "text", "text"


def _why(sent: Any) -> str:
    """apprise's reason for a failure: its warnings for the service, else the status."""
    reasons = []
    for service_result in sent:
        for entry in service_result.logs():
            if str(getattr(entry, "level", "")).upper() in ("WARNING", "ERROR", "CRITICAL"):
                reasons.append(str(entry.message).strip())
    status = getattr(getattr(sent, "status", None), "name", "FAILURE").lower()
    return "; ".join(dict.fromkeys(reasons)) or f"apprise reported {status}"


def mask_secrets(text: str, channel: Channel) -> str:
    for secret in channel.secrets():
        text = text.replace(secret, MASK)
    return mask_url(text)


class _MaskFilter(logging.Filter):
    def __init__(self, channel: Channel) -> None:
        super().__init__()
        self.channel = channel

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = mask_secrets(record.getMessage(), self.channel), None
        return True


#: Loggers that quote request URLs while apprise posts (a filter only sees records logged on
#: its own logger, not on its children: each is named).
_URL_LOGGERS = ("apprise", "urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry")


@contextmanager
def _masked_apprise_logs(channel: Channel) -> Iterator[None]:
    """apprise and urllib3 log request URLs at DEBUG (and some failures name them): the token
    is masked in every record they log while a post runs."""
    mask = _MaskFilter(channel)
    loggers = [logging.getLogger(name) for name in _URL_LOGGERS]
    for logger in loggers:
        logger.addFilter(mask)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(mask)


def channels_of(urls: Sequence[str]) -> list[Channel]:
    """One Channel per distinct URL, in order."""
    return [Channel.of(u) for u in dict.fromkeys(u.strip() for u in urls if u.strip())]


def check_webhooks(urls: Sequence[str], *, what: str = "--webhook") -> list[str]:
    """The URLs, each accepted by apprise; InputError (naming the masked URL) otherwise. For
    URLs typed on the command line: fail before a digest is built."""
    import apprise

    from agent.errors import InputError

    for channel in channels_of(urls):
        with _masked_apprise_logs(channel):
            ok = apprise.Apprise().add(channel.url)
        if not ok:
            raise InputError(
                f"{what} {channel.label} is not a webhook URL apprise knows.",
                hint="Use the service's apprise form, e.g. slack://T000/B000/XXXX, "
                "discord://ID/TOKEN, mmost://HOST/TOKEN, json://HOST/PATH "
                "(https://appriseit.com/services/).",
            )
    return [c.url for c in channels_of(urls)]
