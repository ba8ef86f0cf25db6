"""What `paperbrief serve` and the CLI agree on: where the socket is, who may use it, and how
errors travel.

One request per connection, as one JSON line::

    {"v": 1, "op": "search" | "ask" | "ping", "home": ..., "config": ..., "settings": ...,
     "args": {...}}

and the daemon answers with JSON lines: zero or more events (``{"event": "delta", "text"}``,
``{"event": "tool_call", "call"}``) for a streamed ``ask``, then one final line, ``{"ok": true,
"result": ...}`` or ``{"ok": false, "error": {"kind": ..., ...}}``. An error of kind ``error`` is
a PaperbriefError the command would have raised in-process too (a bad --since, an empty query,
a model that failed): the CLI shows it as its own. Kind ``unavailable`` means "this daemon cannot
answer this client" (another home, config file or settings; an older protocol; a bug in the
daemon): the CLI answers in-process instead.

A client is served only when its home, config file and effective settings all match the
daemon's: the daemon answers with its own environment (keys, endpoints), so a client that would
answer differently must not get its answers. The settings travel as a SHA-256 of the masked
settings (secrets replaced by a marker before hashing): nothing secret crosses the socket in
either direction, and the daemon never sends settings back.

Stdlib only at import time: the CLI imports this before deciding whether it needs anything heavy.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.errors import PaperbriefError

PROTOCOL = 1
SOCKET_NAME = "paperbrief.sock"
#: sun_path holds 108 bytes on Linux, 104 on macOS: a longer home gets its socket elsewhere.
_MAX_SOCKET_PATH = 100
#: a request is a question and a few options; anything longer is not ours
MAX_REQUEST = 1 << 20


def socket_path(home: Path) -> Path:
    """``<home>/paperbrief.sock``; for a home too deep for a socket name, a file named after the
    home in a private directory of this user (``/tmp/paperbrief-<uid>``, mode 0700)."""
    home = home.expanduser().resolve()
    path = home / SOCKET_NAME
    if len(os.fsencode(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(os.fsencode(home)).hexdigest()[:24]
    return _fallback_dir() / f"{digest}.sock"


def _fallback_dir() -> Path:
    return Path(f"/tmp/paperbrief-{os.getuid()}")


def safe_socket(path: Path, *, create_dir: bool = False) -> bool:
    """May this user's processes trust ``path``? The socket (when it exists) must be a socket of
    ours, and the /tmp fallback directory ours and closed to others: a socket another user
    controls could answer anything. ``create_dir`` makes the directory first (the daemon)."""
    directory = path.parent
    if create_dir:
        mode = 0o700 if directory == _fallback_dir() else 0o777
        directory.mkdir(mode=mode, parents=True, exist_ok=True)
    try:
        st = directory.lstat()
        if directory == _fallback_dir() and (
            not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077
        ):
            return False
        st = path.lstat()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return stat.S_ISSOCK(st.st_mode) and st.st_uid == os.getuid()


def config_file(config: Path | str | None) -> str | None:
    """The config file ``Settings.load(config)`` reads (resolved), or None when it reads none."""
    from agent.config import default_config_path

    path = Path(config or os.environ.get("PAPERBRIEF_CONFIG") or default_config_path())
    path = path.expanduser()
    return str(path.resolve()) if path.exists() else None


def settings_digest(settings: Settings) -> str:
    """SHA-256 of the effective settings with every secret masked: equal digests answer alike
    (a different key for the same endpoint is not told apart, and cannot be)."""
    data = json.dumps(settings.masked(), sort_keys=True, default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def home_of(settings: Settings) -> str:
    return str(settings.home.expanduser().resolve())


# --- errors over the wire -------------------------------------------------------------------
def error_reply(exc: PaperbriefError) -> dict[str, Any]:
    """A PaperbriefError as the client rebuilds it: its class names (nearest first), the
    message, the hint and the exit code the CLI prints and exits with."""
    from agent.errors import PaperbriefError

    names = [c.__name__ for c in type(exc).__mro__ if issubclass(c, PaperbriefError)]
    return {
        "ok": False,
        "error": {
            "kind": "error",
            "types": names,
            "message": str(exc),
            "hint": exc.hint,
            "exit_code": exc.exit_code,
        },
    }


def unavailable_reply(reason: str) -> dict[str, Any]:
    return {"ok": False, "error": {"kind": "unavailable", "reason": reason}}


def rebuild_error(error: dict[str, Any]) -> PaperbriefError:
    """The daemon's error as the nearest class of agent.errors, with the same message, hint and
    exit code (a subclass defined elsewhere, like LLMCallError, becomes its parent here)."""
    from agent import errors

    cls: type[errors.PaperbriefError] = errors.PaperbriefError
    for name in error.get("types") or []:
        found = getattr(errors, name, None)
        if isinstance(found, type) and issubclass(found, errors.PaperbriefError):
            cls = found
            break
    exc = cls.__new__(cls)
    errors.PaperbriefError.__init__(exc, str(error.get("message", "")), hint=error.get("hint"))
    exc.exit_code = int(error.get("exit_code", 1))
    return exc


def dump(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False, default=str).encode("utf-8") + b"\n"


__all__ = [
    "MAX_REQUEST",
    "PROTOCOL",
    "SOCKET_NAME",
    "config_file",
    "dump",
    "error_reply",
    "home_of",
    "rebuild_error",
    "safe_socket",
    "settings_digest",
    "socket_path",
    "unavailable_reply",
]
