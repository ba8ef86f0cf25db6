"""Structured output that works on every OpenAI-compatible server.

Methods, tried in order until one is accepted by the endpoint (measured: llama.cpp's server
rejects ``json_schema`` with HTTP 500 but honours forced function calling):

1. ``json_schema``      response_format = {"type": "json_schema", ...}
2. ``function_calling`` one tool + tool_choice forcing it
3. ``json_mode``        response_format = {"type": "json_object"} and the schema in the prompt

Whatever the method, the reply is parsed leniently (code fences, ``<think>`` blocks, prose
around the object) and validated against the schema; this module only builds requests and
parses replies, the retry/backoff policy lives in ``agent.llm.chat``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from agent.errors import ParseFailure

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel, LanguageModelInput
    from langchain_core.messages import BaseMessage
    from langchain_core.runnables import Runnable

METHODS = ("json_schema", "function_calling", "json_mode")

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """A plain JSON schema (no $defs) that every server understands."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(defs[node["$ref"].split("/")[-1]])
            # Titles and descriptions cost prompt tokens; the prompt already explains fields.
            return {k: inline(v) for k, v in node.items() if k not in ("title", "description")}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    out = inline(schema)
    out["required"] = list(model.model_fields)
    return out


def bind_method(
    chat_model: BaseChatModel, method: str, schema: type[BaseModel]
) -> Runnable[LanguageModelInput, BaseMessage]:
    """The chat model bound so that its reply comes back in ``method``'s shape."""
    name = schema.__name__
    params = schema_of(schema)
    if method == "json_schema":
        return chat_model.bind(
            response_format={
                "type": "json_schema",
                "json_schema": {"name": name, "schema": params, "strict": False},
            }
        )
    if method == "function_calling":
        tool = {
            "type": "function",
            "function": {"name": name, "description": f"Return the {name}.", "parameters": params},
        }
        return chat_model.bind(
            tools=[tool], tool_choice={"type": "function", "function": {"name": name}}
        )
    if method == "json_mode":
        return chat_model.bind(response_format={"type": "json_object"})
    raise ValueError(f"unknown structured-output method {method!r}")


def json_mode_hint(schema: type[BaseModel]) -> str:
    """Appended to the system prompt in json_mode, where the server does not see the schema."""
    return "\nReply with only a JSON object matching this schema:\n" + json.dumps(
        schema_of(schema), separators=(",", ":")
    )


def with_json_hint(
    messages: Sequence[tuple[str, str]], schema: type[BaseModel]
) -> list[tuple[str, str]]:
    """``messages`` (role, content) with the schema hint json mode needs in the system turn."""
    out = list(messages)
    if out and out[0][0] == "system":
        out[0] = ("system", out[0][1] + json_mode_hint(schema))
    else:
        out.insert(0, ("system", json_mode_hint(schema).strip()))
    return out


def raw_reply(message: BaseMessage) -> str:
    """The text the model produced: tool-call arguments if any, else the content."""
    for call in getattr(message, "tool_calls", None) or []:
        return json.dumps(call.get("args", {}))
    for call in getattr(message, "invalid_tool_calls", None) or []:
        return str(call.get("args") or "")
    content = getattr(message, "content", "")
    if isinstance(content, list):
        content = "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return str(content or "")


def extract_json(text: str) -> Any:
    """Parse the first JSON object in ``text``, tolerating fences, think blocks and prose."""
    cleaned = _THINK.sub("", text).strip()
    fenced = _FENCE.search(cleaned)
    if fenced:
        cleaned = fenced.group(1).strip()
    try:
        return json.loads(cleaned)
    except json.JSONDecodeError:
        pass
    start = cleaned.find("{")
    if start < 0:
        raise ValueError("no JSON object in the reply")
    decoder = json.JSONDecoder()
    try:
        obj, _ = decoder.raw_decode(cleaned[start:])
        return obj
    except json.JSONDecodeError:
        pass
    # Common small-model slips: trailing commas, a missing closing brace.
    candidate = re.sub(r",\s*([}\]])", r"\1", cleaned[start:])
    for suffix in ("", "}", "]}", '"}', '"]}'):
        try:
            obj, _ = decoder.raw_decode(candidate + suffix)
            return obj
        except json.JSONDecodeError:
            continue
    raise ValueError("the reply is not valid JSON")


def parse_reply(message: BaseMessage, schema: type[BaseModel]) -> BaseModel:
    """Validate a reply against ``schema`` or raise ParseFailure saying what is wrong."""
    raw = raw_reply(message)
    try:
        data = extract_json(raw)
    except ValueError as exc:
        raise ParseFailure(str(exc), raw) from None
    if isinstance(data, dict) and len(data) == 1 and schema.__name__ not in schema.model_fields:
        # Some servers wrap the object: {"SummaryDraft": {...}} or {"properties": {...}}.
        (inner,) = data.values()
        if isinstance(inner, dict) and not (set(data) & set(schema.model_fields)):
            data = inner
    if isinstance(data, dict):
        data = _coerce(data, schema)
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'object'}: {e['msg']}" for e in exc.errors()
        )
        raise ParseFailure(f"the JSON does not match the schema ({problems})", raw) from None


def _coerce(data: dict[str, Any], schema: type[BaseModel]) -> dict[str, Any]:
    """Fix shapes weak models often return: a string for a list, a dict for key terms."""
    fields = schema.model_fields
    out = dict(data)
    if "tags" in fields and isinstance(out.get("tags"), str):
        out["tags"] = [t.strip() for t in re.split(r"[,;]", out["tags"]) if t.strip()]
    terms = out.get("key_terms")
    if "key_terms" in fields and isinstance(terms, dict):
        out["key_terms"] = [{"term": k, "meaning": str(v)} for k, v in terms.items()]
    elif "key_terms" in fields and isinstance(terms, list):
        fixed = []
        for t in terms:
            if isinstance(t, str):
                term, _, meaning = t.partition(":")
                fixed.append({"term": term.strip(), "meaning": meaning.strip()})
            else:
                fixed.append(t)
        out["key_terms"] = fixed
    return out
