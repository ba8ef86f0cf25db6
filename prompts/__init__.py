"""Prompts are data: one TOML file per prompt in this folder, each with a ``version``.

A prompt file holds::

    version = "summary-3"          # bump whenever the wording changes: it keys the summary cache
    description = "..."
    system = '''... $fence_start ...'''   # optional: follow-up prompts have only a user turn
    user = '''... $title ...'''

Templates use ``string.Template`` syntax (``$name``; ``$$`` for a literal dollar) so JSON
braces need no escaping. ``Prompt.render(**vars)`` raises ``PromptError`` when a variable is
missing or unknown, so a typo fails loudly instead of sending a half-filled prompt.

Fixed phrases that both the prompt text and the code rely on (the fence around untrusted
text) live here as constants and reach the text only through variables.
"""

from __future__ import annotations

import re
import string
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from store.errors import PaperbriefError

#: Untrusted text (abstracts, titles) goes between these markers; the code strips any copy of
#: them from the untrusted text first, so an abstract cannot close its own fence.
FENCE_START = "<<<PAPER"
FENCE_END = "PAPER>>>"

#: Variables every prompt may use without the caller passing them.
CONSTANTS: dict[str, str] = {"fence_start": FENCE_START, "fence_end": FENCE_END}


class PromptError(PaperbriefError, ValueError):
    """A prompt file is malformed or was rendered with the wrong variables.

    ``prompts`` may not import ``agent``; it takes the tree's root from ``store.errors`` (the
    one module of ours every layer may import), and ``agent.errors.PromptError`` is this class.
    """

    default_hint = (
        "A prompt file shipped with paperbrief is broken: reinstall it "
        "(`pip install --force-reinstall paperbrief`)."
    )


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    description: str
    system: str
    user: str

    @property
    def variables(self) -> frozenset[str]:
        """Variables the caller must pass (the shared constants excluded)."""
        names: set[str] = set()
        for text in (self.system, self.user):
            names.update(string.Template(text).get_identifiers())
        return frozenset(names - CONSTANTS.keys())

    def render(self, **variables: object) -> tuple[str, str]:
        """Return ``(system, user)`` with every variable filled in."""
        given = set(variables)
        missing = self.variables - given
        unknown = given - self.variables
        if missing or unknown:
            parts = []
            if missing:
                parts.append(f"missing {sorted(missing)}")
            if unknown:
                parts.append(f"unknown {sorted(unknown)}")
            raise PromptError(f"prompt {self.name!r} ({self.version}): " + "; ".join(parts))
        values = {**CONSTANTS, **{k: str(v) for k, v in variables.items()}}
        return (
            string.Template(self.system).substitute(values),
            string.Template(self.user).substitute(values),
        )


#: A marker as a model may still read it: any case, spaces inside ("PAPER >>>").
_MARKERS = re.compile(r"<<<\s*PAPER|PAPER\s*>>>", re.IGNORECASE)
#: Characters that render as nothing but split a marker so a one-pass filter misses it.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")


def fence(text: str) -> str:
    """Remove the fence markers from untrusted text so it cannot break out of its fence.

    Removal repeats until nothing changes: one pass over ``PAPEPAPER>>>R>>>`` removes the
    inner marker and leaves an outer one that would close the fence.
    """
    text = _INVISIBLE.sub("", text)
    while True:
        cleaned = _MARKERS.sub("", text)
        if cleaned == text:
            return text
        text = cleaned


@cache
def load_prompt(name: str) -> Prompt:
    """Load ``prompts/<name>.toml`` and check it is well formed."""
    try:
        raw = resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptError(f"no prompt named {name!r} in the prompts package") from None
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise PromptError(f"prompt {name!r} is not valid TOML: {exc}") from None
    for key in ("version", "user"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise PromptError(f"prompt {name!r} lacks a non-empty string {key!r}")
    if not isinstance(data.get("system", ""), str):
        raise PromptError(f"prompt {name!r}: 'system' must be a string")
    extra = set(data) - {"version", "description", "system", "user"}
    if extra:
        raise PromptError(f"prompt {name!r} has unknown keys {sorted(extra)}")
    prompt = Prompt(
        name=name,
        version=data["version"],
        description=data.get("description", ""),
        system=data.get("system", ""),
        user=data["user"],
    )
    for text in (prompt.system, prompt.user):
        if not string.Template(text).is_valid():
            raise PromptError(f"prompt {name!r} has a malformed $placeholder")
    return prompt
