"""Naming themes: from distinctive keywords (no model) or with the LLM (one call per theme).

Both namers take every theme of a digest at once, so the LLM namer can run its calls
concurrently and report progress. LLM names are cached by (sorted paper ids, model, prompt
version): rebuilding the same digest costs no call. A theme whose LLM call fails keeps its
keyword name; the digest still goes out and its stats count the fallback.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, Field

from agent.digest.keywords import name_from_terms
from agent.digest.models import DigestPaper
from agent.models import Progress, Usage
from prompts import fence, load_prompt

if TYPE_CHECKING:
    from agent.llm.chat import ChatLLM

log = logging.getLogger(__name__)

#: progress(stage, done, total), as PaperAgent's progress callbacks.
PAPERS_IN_PROMPT = 12
MAX_NAME_CHARS = 60
MAX_NAME_WORDS = 8  # the prompt asks for 2 to 6; a little slack before we call it a sentence
MAX_OVERVIEW_CHARS = 600
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_CITATION = re.compile(r"\[\s*(?:\d|n\b|\w+\s*\d)[^\]]*\]|\(\s*\d+(?:\s*[,;-]\s*\d+)*\s*\)")
# What a heading never holds: a citation, brackets, a link or address, a fence marker, a second
# sentence, a model talking about itself.
_NOT_A_NAME = re.compile(
    r"[\[\]{}<>|@]|https?:|www\.|[.!?;]\s+\S|\b(?:i|i'm|i am|as an ai|here is|sorry)\b",
    re.IGNORECASE,
)


@dataclass
class ThemeInput:
    papers: list[DigestPaper]  # most relevant first
    keywords: list[str]


@dataclass
class NamedTheme:
    name: str
    overview: str
    named_by: str = "keywords"
    cached: bool = False
    failed: str | None = None  # why the LLM name could not be used
    usage: Usage = field(default_factory=Usage)


class ThemeNamer(Protocol):
    @property
    def label(self) -> str:
        """The model behind the names ("keywords" when none), shown in the digest footer."""
        ...

    def name_themes(
        self, themes: Sequence[ThemeInput], progress: Progress | None = None
    ) -> list[NamedTheme]: ...


class ThemeNameCache(Protocol):
    def get_theme_name(self, key: str) -> tuple[str, str] | None: ...
    def put_theme_name(
        self, key: str, name: str, overview: str, *, model: str, prompt_version: str
    ) -> None: ...


class KeywordNamer:
    """Names from the theme's distinctive keywords; the overview says that is all it is."""

    label = "keywords"

    def name_themes(
        self, themes: Sequence[ThemeInput], progress: Progress | None = None
    ) -> list[NamedTheme]:
        out = []
        for i, theme in enumerate(themes):
            out.append(keyword_name(theme))
            if progress:
                progress("naming themes", i + 1, len(themes))
        return out


def keyword_name(theme: ThemeInput) -> NamedTheme:
    n = len(theme.papers)
    terms = ", ".join(theme.keywords[:5])
    overview = f"{n} papers whose abstracts share the terms: {terms}." if terms else ""
    return NamedTheme(name=name_from_terms(theme.keywords), overview=overview)


class ThemeDraft(BaseModel):
    """A digest theme: its name and what connects its papers."""

    name: str = Field(description="2 to 6 plain words")
    overview: str = Field(description="2 or 3 short sentences on what connects the papers")


def cache_key(paper_ids: Sequence[str], model: str, prompt_version: str) -> str:
    blob = json.dumps([sorted(paper_ids), model, prompt_version], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def tidy_draft(draft: ThemeDraft) -> tuple[str, str]:
    """Bound what a model wrote; raise ValueError when its name cannot be a heading.

    Models paste sentences, citations ("... as shown in [1]") or chatter into the name field:
    a theme heading must be a short phrase, or the keyword name takes its place.
    """
    name = _one_line(re.sub(r"[*_`#]+", " ", draft.name)).strip(" \"'“”.:")
    problem = name_problem(name)
    if problem:
        raise ValueError(f"the model's theme name {name[:100]!r} {problem}")
    overview = _CITATION.sub("", _one_line(draft.overview))
    overview = re.sub(r"\s+([.,;:])", r"\1", overview)
    sentences = _SENTENCE_END.split(" ".join(overview.split()))
    return name, " ".join(sentences[:3])[:MAX_OVERVIEW_CHARS].strip()


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a theme heading, or None when it can."""
    if not name:
        return "is empty"
    if _CITATION.search(name):
        return "cites a paper"
    if len(name.split()) > MAX_NAME_WORDS or len(name) > MAX_NAME_CHARS:
        return f"is longer than {MAX_NAME_WORDS} words or {MAX_NAME_CHARS} characters"
    if _NOT_A_NAME.search(name):
        return "is not a short plain phrase"
    return None


def theme_messages(theme: ThemeInput) -> list[tuple[str, str]]:
    prompt = load_prompt("theme")
    lines = []
    for p in theme.papers[:PAPERS_IN_PROMPT]:
        gist = p.tldr if p.tldr else ""
        lines.append(f"- {fence(p.title)}: {fence(gist)}")
    if len(theme.papers) > PAPERS_IN_PROMPT:
        lines.append(f"- ... and {len(theme.papers) - PAPERS_IN_PROMPT} more")
    system, user = prompt.render(
        keywords=fence(", ".join(theme.keywords[:8])) or "(none)",
        count=len(theme.papers),
        papers="\n".join(lines),
    )
    return [("system", system.strip()), ("user", user.strip())]


class LLMThemeNamer:
    """One structured LLM call per theme (cached), at most ``max_concurrency`` at once."""

    def __init__(
        self,
        llm: ChatLLM,
        *,
        cache: ThemeNameCache | None = None,
        max_concurrency: int = 4,
    ) -> None:
        self.llm = llm
        self.cache = cache
        self.max_concurrency = max(1, max_concurrency)
        self.prompt_version = load_prompt("theme").version

    @property
    def label(self) -> str:
        return self.llm.model

    def name_themes(
        self, themes: Sequence[ThemeInput], progress: Progress | None = None
    ) -> list[NamedTheme]:
        from agent.llm.chat import run_sync

        return run_sync(self._name_all(list(themes), progress))

    async def _name_all(
        self, themes: list[ThemeInput], progress: Progress | None
    ) -> list[NamedTheme]:
        gate = asyncio.Semaphore(self.max_concurrency)
        done = 0
        if progress:
            progress("naming themes", 0, len(themes))

        async def one(theme: ThemeInput) -> NamedTheme:
            nonlocal done
            async with gate:
                named = await self._name_one(theme)
            done += 1
            if progress:
                progress("naming themes", done, len(themes))
            return named

        return list(await asyncio.gather(*(one(t) for t in themes)))

    async def _name_one(self, theme: ThemeInput) -> NamedTheme:
        from agent.errors import LLMError

        key = cache_key([p.id for p in theme.papers], self.llm.model, self.prompt_version)
        if self.cache is not None:
            hit = self.cache.get_theme_name(key)
            if hit is not None and name_problem(hit[0]) is None:
                return NamedTheme(hit[0], hit[1], f"llm:{self.llm.model}", cached=True)
        try:
            reply = await self.llm.astructured(theme_messages(theme), ThemeDraft)
        except LLMError as exc:
            return _fallback(theme, str(exc), getattr(exc, "usage", None) or Usage())
        try:
            name, overview = tidy_draft(reply.value)  # type: ignore[arg-type]
        except ValueError as exc:
            return _fallback(theme, str(exc), reply.usage)
        if self.cache is not None:
            self.cache.put_theme_name(
                key, name, overview, model=self.llm.model, prompt_version=self.prompt_version
            )
        return NamedTheme(name, overview, f"llm:{self.llm.model}", usage=reply.usage)


def _fallback(theme: ThemeInput, why: str, usage: Usage) -> NamedTheme:
    log.warning("theme naming failed, using keywords: %s", why)
    named = keyword_name(theme)
    named.failed = why
    named.usage = usage
    return named
