"""Source names -> constructors; the one place that knows every source."""

from __future__ import annotations

from collections.abc import Callable

from agent.config import Settings
from agent.errors import ConfigError
from agent.sources.arxiv_api import ArxivApiSource
from agent.sources.arxiv_rss import ArxivRssSource
from agent.sources.base import Source
from agent.sources.files import FileSource
from agent.sources.hf import HfDailySource
from agent.sources.http import HttpClient

_FACTORIES: dict[str, Callable[[Settings, HttpClient], Source]] = {
    "arxiv-rss": ArxivRssSource,
    "arxiv": ArxivApiSource,
    "hf": HfDailySource,
    "file": lambda settings, http: FileSource(settings),
}
SOURCE_NAMES: tuple[str, ...] = tuple(_FACTORIES)


def build_source(name: str, settings: Settings, http: HttpClient) -> Source:
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ConfigError(
            f"Unknown source {name!r}.",
            hint=f"Use one of: {', '.join(SOURCE_NAMES)} (the `sources` setting or --source).",
        ) from None
    return factory(settings, http)
