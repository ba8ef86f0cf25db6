"""build_source: every name builds a Source; unknown names say which exist."""

from __future__ import annotations

import pytest

from agent.config import Settings
from agent.errors import ConfigError
from agent.sources import SOURCE_NAMES, FetchRequest, FetchResult, build_source
from agent.sources.http import HttpClient


def test_every_name_builds_a_source_with_that_name(tmp_path):
    settings = Settings(home=tmp_path)
    assert SOURCE_NAMES == ("arxiv-rss", "arxiv", "hf", "file")
    with HttpClient.from_settings(settings) as http:
        for name in SOURCE_NAMES:
            source = build_source(name, settings, http)
            assert source.name == name
            assert callable(source.fetch)
    assert FetchResult().papers == [] and FetchRequest().path is None


def test_unknown_source_lists_the_valid_ones(tmp_path):
    settings = Settings(home=tmp_path)
    with HttpClient.from_settings(settings) as http, pytest.raises(ConfigError) as err:
        build_source("rss", settings, http)
    assert "'rss'" in str(err.value)
    assert all(name in err.value.hint for name in SOURCE_NAMES)
