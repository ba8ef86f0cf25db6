"""Where papers come from: arXiv RSS, the arXiv API, Hugging Face daily papers, local files."""

from agent.sources.base import FetchRequest, FetchResult, Source
from agent.sources.registry import SOURCE_NAMES, build_source

__all__ = ["SOURCE_NAMES", "FetchRequest", "FetchResult", "Source", "build_source"]
