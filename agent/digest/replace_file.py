"""Writing a file the user named (``digest --out FILE``, ``run --out``) whole or not at all.

The text goes to a temporary file created exclusively (``O_EXCL``, unpredictable name) beside
the target, then replaces it in one rename. A predictable ``FILE.tmp`` would let anyone who can
write to that directory plant a symlink there and have the digest overwrite the file it points to.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from agent.errors import InputError

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
_HINT = "Give a file path in a directory you can write to."


def replace_file(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; InputError when it cannot be written."""
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a file.", hint=_HINT)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp, fd = _exclusive_temp(path)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _cannot_write(path, exc) from None
    return path


def _exclusive_temp(path: Path) -> tuple[Path, int]:
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        try:
            # 0o666 and the umask, as a plain open() would create the file.
            return tmp, os.open(tmp, _FLAGS, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def _cannot_write(path: Path, exc: OSError) -> InputError:
    return InputError(f"Cannot write {path}: {exc.strerror or exc}.", hint=_HINT)
