"""paperbrief: keeps researchers on top of new papers.

Importing this package is cheap: chromadb, onnxruntime, langchain and openai load only when a
method that needs them runs.
"""

from agent.config import Settings
from agent.digest.models import Digest, Theme
from agent.errors import PaperbriefError
from agent.models import Paper, RunReport, SearchHit, SourceReport, SourceStatus, Summary
from agent.qa.models import Answer, Citation

__all__ = [
    "Answer",
    "Citation",
    "Digest",
    "Paper",
    "PaperAgent",
    "PaperbriefError",
    "RunReport",
    "SearchHit",
    "Settings",
    "SourceReport",
    "SourceStatus",
    "Summary",
    "Theme",
]


def __getattr__(name: str):
    if name == "PaperAgent":
        from agent.pipeline import PaperAgent

        return PaperAgent
    raise AttributeError(name)
