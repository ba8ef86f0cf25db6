"""A real `chroma run` server for tests: started on a free port, stopped at the end."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from httpserver import unused_port


@contextlib.contextmanager
def chroma_run(data: Path) -> Iterator[str]:
    """``chroma run --path data`` on 127.0.0.1; yields its URL once it answers."""
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    if not os.path.exists(exe):
        pytest.skip("the chroma console script is not installed")
    port = unused_port()
    proc = subprocess.Popen(
        [exe, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("chroma server did not start")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
