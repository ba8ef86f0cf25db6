"""Backfill: a long window of arXiv submissions, stored page by page, resumable."""

from agent.backfill.run import BackfillResult, run_backfill

__all__ = ["BackfillResult", "run_backfill"]
