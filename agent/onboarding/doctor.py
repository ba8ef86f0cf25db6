"""`paperbrief doctor`: check every moving part and say what to fix.

Each check is a small function that never raises: an exception becomes a ``fail`` carrying the
error's own hint, so one broken part never hides the state of the others.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel

from agent.errors import PaperbriefError

if TYPE_CHECKING:
    from agent.pipeline import PaperAgent

SOURCE_TIMEOUT = 5.0


class CheckStatus(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIPPED = "skipped"


class Check(BaseModel):
    name: str
    status: CheckStatus
    detail: str = ""
    fix: str = ""
    seconds: float = 0.0


class _Outcome(Exception):
    """Raised inside a check to finish it with a status other than ok."""

    def __init__(self, status: CheckStatus, detail: str, fix: str = "") -> None:
        super().__init__(detail)
        self.status, self.detail, self.fix = status, detail, fix


def run_checks(agent: PaperAgent, *, only: set[str] | None = None) -> list[Check]:
    checks: list[tuple[str, Callable[[PaperAgent], str]]] = [
        ("config", _config),
        ("data dir", _data_dir),
        ("embedder", _embedder),
        ("state", _state),
        ("store", _store),
        ("bm25 index", _bm25),
        ("llm", _llm),
        ("smtp", _smtp),
    ]
    checks += [(f"source {name}", _source_check(name)) for name in agent.settings.sources]
    return [_run(name, fn, agent) for name, fn in checks if only is None or name in only]


def _run(name: str, fn: Callable[[PaperAgent], str], agent: PaperAgent) -> Check:
    started = time.perf_counter()
    try:
        detail, status, fix = fn(agent), CheckStatus.OK, ""
    except _Outcome as out:
        detail, status, fix = out.detail, out.status, out.fix
    except PaperbriefError as exc:
        detail, status, fix = str(exc), CheckStatus.FAIL, exc.hint
    except Exception as exc:  # a doctor reports, it does not crash
        detail, status, fix = f"{type(exc).__name__}: {exc}", CheckStatus.FAIL, ""
    from agent.config.secrets import mask_url

    return Check(  # details quote URLs (endpoints, feeds): their credentials masked
        name=name,
        status=status,
        detail=mask_url(detail),
        fix=mask_url(fix),
        seconds=round(time.perf_counter() - started, 3),
    )


def _config(agent: PaperAgent) -> str:
    s = agent.settings
    secrets = [
        name
        for name, value in (("llm.api_key", s.llm.api_key), ("smtp.password", s.smtp.password))
        if value is not None
    ]
    where = "secrets set: " + ", ".join(secrets) if secrets else "no secrets set"
    return f"settings load ({where})"


def _data_dir(agent: PaperAgent) -> str:
    home = agent.settings.home
    home.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=home, prefix=".doctor-"):
        pass
    free = os.statvfs(home)
    gb = free.f_bavail * free.f_frsize / 1e9
    if gb < 1:
        raise _Outcome(CheckStatus.WARN, f"{home}: only {gb:.2f} GB free", "Free some disk space.")
    return f"{home} is writable ({gb:.0f} GB free)"


def _embedder(agent: PaperAgent) -> str:
    started = time.perf_counter()
    vector = agent.embedder.embed_query("a quick check that the embedding model runs")
    ms = (time.perf_counter() - started) * 1000
    return f"{agent.embedder.model_id}: {vector.shape[0]}-d vector in {ms:.0f} ms"


def _store(agent: PaperAgent) -> str:
    info = agent.status()
    vectors = f" ({info['embedding_model']} vectors)" if info.get("embedding_model") else ""
    return f"{info['papers']} papers, {info['chunks']} chunks at {info['store']}{vectors}"


def _bm25(agent: PaperAgent) -> str:
    info = agent.status()
    if not info["chunks"]:
        return "empty store: nothing to index yet"
    if not info["bm25_fresh"]:
        raise _Outcome(
            CheckStatus.WARN,
            "stale: the store changed since it was built",
            "Nothing to do: the next search rebuilds it.",
        )
    return "fresh"


def _state(agent: PaperAgent) -> str:
    """The home's state file (ratings, library, digest history) sound, and its backup's age;
    a damaged one fails with the fix (`doctor --restore-state`)."""
    from store.state.health import inspect_state

    return inspect_state(agent.settings.layout.state_db)


def _llm(agent: PaperAgent) -> str:
    from agent.llm.check import check_endpoint

    if not agent.settings.llm_enabled:
        raise _Outcome(
            CheckStatus.SKIPPED,
            "no endpoint configured: summaries and answers use the extractive engine",
            "Set OPENAI_API_KEY, or OPENAI_BASE_URL for Ollama / vLLM / a llama.cpp server.",
        )
    result = check_endpoint(agent.settings)
    if not result["ok"]:
        raise _Outcome(CheckStatus.FAIL, result["error"], result.get("hint", ""))
    return (
        f"{result['endpoint']} model {result['model']}: structured output by "
        f"{result['method']} in {result['latency_s']} s"
    )


def _smtp(agent: PaperAgent) -> str:
    from agent.digest.mail import SmtpConfig, check_login

    if not agent.settings.smtp.host:
        raise _Outcome(
            CheckStatus.SKIPPED,
            "no `[smtp] host`: digests are written to files, not e-mailed",
            "Set host, security, user and from_addr under [smtp] (config; `paperbrief init` "
            "asks for them) and PAPERBRIEF_SMTP_PASSWORD (env).",
        )
    config = SmtpConfig.from_settings(agent.settings)
    check_login(config)
    if config.user:
        done = f"{config.label}: connected and logged in as {config.user} (nothing sent)"
    else:
        done = f"{config.label}: connected; no login tried, `[smtp] user` is not set (nothing sent)"
    if not agent.settings.smtp.to:
        raise _Outcome(
            CheckStatus.WARN,
            done + ", but `[smtp] to` is empty: `paperbrief run` will save digests, not mail them",
            "Set `to` under [smtp] in the config, or pass --email to `paperbrief run`.",
        )
    return done


def _source_check(name: str) -> Callable[[PaperAgent], str]:
    def check(agent: PaperAgent) -> str:
        from agent.sources.http import HttpClient

        s = agent.settings
        cats = "+".join(s.arxiv.categories)
        probes = {
            "arxiv-rss": (f"{s.arxiv.rss_url.rstrip('/')}/{cats}", None, "arxiv"),
            "arxiv": (s.arxiv.api_url, {"search_query": "all:test", "max_results": 1}, "arxiv"),
            "hf": (s.hf.api_url, {"limit": 1}, None),
        }
        if name not in probes:
            raise _Outcome(CheckStatus.FAIL, f"unknown source {name!r}", "Fix the sources setting.")
        url, params, throttle = probes[name]
        with HttpClient(
            timeout=SOURCE_TIMEOUT,
            retries=0,
            user_agent=s.http.user_agent,
            arxiv_min_interval=s.arxiv.min_interval,
        ) as http:
            response = http.get(
                url, params=params, throttle=throttle, source=name, raise_for_status=False
            )
        if response.status_code >= 400:
            raise _Outcome(
                CheckStatus.WARN,
                f"{url} answered HTTP {response.status_code}",
                "Check the source's *_url setting.",
            )
        return f"{url} answered in {response.elapsed.total_seconds():.2f} s"

    return check
