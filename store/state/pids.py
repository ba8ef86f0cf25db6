"""Whether a writer's process still runs: the one check the local state and the shared revision
both make before trusting a write in progress."""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """Whether a process of this machine with this pid exists (0 and below: no)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
