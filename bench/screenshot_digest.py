"""The README's digest screenshots, made from a real digest by the real commands.

On a throwaway home (no config, no LLM, no network): `paperbrief demo` ingests and summarizes the
shipped corpus, `library import` reads bench/screenshots/my-library.bib (a Zotero "Export
Collection…" in BibTeX on efficient LLM inference) from ~/Downloads, `rate` lifts one paper,
then `digest --out digest.html` writes the digest that headless Chromium shoots at a desktop and a
phone width. Each command's output is printed (the README quotes it), and the page's layout width
is measured at each window width: a page wider than its window scrolls sideways on a phone.

Usage: python bench/screenshot_digest.py [--out-dir bench/screenshots] [--keep DIR]
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LIBRARY = REPO / "bench" / "screenshots" / "my-library.bib"
CORPUS = REPO / "agent" / "data" / "demo_corpus.jsonl"
# IcoCast (weather forecasting), the corpus's first day: a paper of an earlier digest the reader
# liked, a second taste beside the library's. The digest window starts the day after it.
RATED = "demo-0041"
MAX_PAPERS = "12"  # a short digest, so one desktop shot holds it whole, both kinds of "because"
# (file name, window width, window height: None = the whole page)
SHOTS = (("digest-because.png", 1280, None), ("digest-phone.png", 390, 2600))
CLEARED = ("PAPERBRIEF_", "OPENAI_")


def main() -> int:
    args = _parse()
    work = Path(args.keep or tempfile.mkdtemp(prefix="pb-shots-"))
    env = _clean_env(work)
    bib = work / "home" / "Downloads" / "My Library.bib"
    bib.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(LIBRARY, bib)
    data = work / "paperbrief"
    page = work / "digest.html"
    pb = [str(Path(sys.executable).with_name("paperbrief")), "--home", str(data)]

    _run([*pb, "demo", "--demo-home", str(data)], env, quiet=True)
    _run([*pb, "library", "import", str(bib)], env)
    _run([*pb, "library", "list"], env)
    _run([*pb, "rate", RATED, "up"], env)
    since = (_published(RATED) + timedelta(days=1)).date().isoformat()
    digest = [*pb, "digest", "--since", since, "--include-sent", "--max-papers", MAX_PAPERS]
    _print_because(json.loads(_run([*digest, "--out", str(page), "--json"], env, quiet=True)))

    out_dir = args.out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, width, height in SHOTS:
        png = out_dir / name
        layout_width, layout_height = _layout(args.chromium, page, width, work)
        _screenshot(args.chromium, page, png, width, height or layout_height, work)
        verdict = "fits" if layout_width <= width else "OVERFLOWS (scrolls sideways)"
        print(f"{png}: window {width}px, page {layout_width}x{layout_height}px: {verdict}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=REPO / "bench" / "screenshots")
    parser.add_argument("--keep", help="Work in DIR and keep it (store, digest.html).")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    return parser.parse_args()


def _clean_env(work: Path) -> dict[str, str]:
    """No user config, no LLM endpoint, no SMTP: what a newcomer's machine has."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEARED)}
    env.update(HOME=str(work / "home"), XDG_CONFIG_HOME=str(work / "config"), COLUMNS="100")
    return env


def _run(cmd: list[str], env: dict[str, str], *, quiet: bool = False) -> str:
    shown = " ".join(cmd[3:] if cmd[1] == "--home" else cmd[1:])
    print(f"$ paperbrief {shown}", flush=True)
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    if not quiet:
        print(result.stdout.rstrip(), result.stderr.rstrip(), sep="\n", flush=True)
    return result.stdout


def _published(paper_id: str) -> datetime:
    rows = (json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines())
    (date,) = [row["published"] for row in rows if row["id"] == paper_id]
    return datetime.fromisoformat(date.replace("Z", "+00:00"))


def _print_because(digest: dict) -> None:
    ranked = digest.get("ranked") or []
    print(f"{len(ranked)} shown; first ten with their because line:")
    for row in ranked[:10]:
        print(f"  {row['score']:.3f} {row['id']} {row['title'][:50]}… | {row['because']}")


def _chromium(binary: str, work: Path, width: int, height: int) -> list[str]:
    return [
        binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        f"--user-data-dir={work / 'chromium'}", f"--window-size={width},{height}",
    ]  # fmt: skip


def _screenshot(binary: str, page: Path, png: Path, width: int, height: int, work: Path) -> None:
    cmd = [*_chromium(binary, work, width, height), f"--screenshot={png}", page.as_uri()]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)


def _layout(binary: str, page: Path, width: int, work: Path) -> tuple[int, int]:
    """The page's scroll width and height in a frame `width` px wide, read back from the DOM
    Chromium dumps. A frame, because `--dump-dom` lays the page out in a real window, and windows
    are at least 500 px wide: a 390 px window would be measured as 500 (`--screenshot` emulates
    the size exactly)."""
    probe = page.with_name(f"probe-{width}.html")
    measure = (
        "var d = this.contentDocument.documentElement;"
        " document.body.setAttribute('data-layout', d.scrollWidth + 'x' + d.scrollHeight)"
    )
    probe.write_text(
        f'<!DOCTYPE html><html><body style="margin:0"><iframe style="border:0;width:{width}px;'
        f'height:800px" onload="{measure}" srcdoc="{html.escape(page.read_text("utf-8"))}">'
        "</iframe></body></html>",
        encoding="utf-8",
    )
    cmd = [*_chromium(binary, work, 1280, 900), "--dump-dom", probe.as_uri()]
    dom = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120).stdout
    found = re.search(r'data-layout="(\d+)x(\d+)"', dom)
    if not found:
        sys.exit("could not measure the page (no data-layout in Chromium's DOM)")
    return int(found.group(1)), int(found.group(2))


if __name__ == "__main__":
    sys.exit(main())
