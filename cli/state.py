"""What every command shares: the global options and the one PaperAgent built from them.

Its own module so that command modules can name ``AppState`` without importing ``cli.main``,
which imports them to register their commands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent import PaperAgent, Settings


@dataclass
class AppState:
    config: Path | None = None
    home: Path | None = None
    verbosity: int = 0
    #: seconds a writing command waits for another writer (global --wait)
    wait: float = 0.0
    _settings: Settings | None = None
    _agent: PaperAgent | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        if self._settings is None:
            from agent import Settings

            self._settings = Settings.load(self.config, home=self.home)
        return self._settings

    def agent(self) -> PaperAgent:
        if self._agent is None:
            from agent import PaperAgent

            self._agent = PaperAgent(self.settings(), lock_wait=self.wait)
        return self._agent

    def close(self) -> None:
        if self._agent is not None:
            self._agent.close()


__all__ = ["AppState"]
