"""`paperbrief init` (write a commented config) and `paperbrief doctor` (check everything)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from cli import output

if TYPE_CHECKING:
    from agent import Check
    from cli.state import AppState

CRON_LINE = "30 7 * * 1-5  paperbrief run >> ~/.local/state/paperbrief.log 2>&1"


Categories = Annotated[
    str | None, typer.Option(help="arXiv categories, comma-separated: cs.LG,cs.CL")
]
Sources = Annotated[
    list[str] | None, typer.Option("--source", help="arxiv-rss, arxiv, hf (repeatable).")
]
Interests = Annotated[
    list[str] | None,
    typer.Option("--interest", help="A research interest in your words (repeatable)."),
]
LLMBaseURL = Annotated[
    str | None, typer.Option(help="OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp).")
]
Recipients = Annotated[
    list[str] | None, typer.Option("--email-to", help="Digest recipient (repeatable).")
]
Security = Literal["starttls", "tls", "none"]
SECURITY_PORTS = {"starttls": 587, "tls": 465, "none": 25}
SmtpSecurity = Annotated[
    Security | None,
    typer.Option(
        help="starttls (port 587), tls (implicit TLS, port 465) or none (a relay on this "
        "machine only).",
    ),
]
DataHome = Annotated[Path | None, typer.Option("--data-home", help="Directory for all data.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Ask nothing; use the flags and defaults.")]


def register(app: typer.Typer, state: AppState) -> None:
    @app.command()
    def init(
        path: Annotated[
            Path | None,
            typer.Option(help="Where to write (default: --config, else the platform config dir)."),
        ] = None,
        categories: Categories = None,
        source: Sources = None,
        interest: Interests = None,
        llm_base_url: LLMBaseURL = None,
        llm_model: Annotated[str | None, typer.Option(help="Chat model name.")] = None,
        smtp_host: Annotated[str | None, typer.Option(help="SMTP server host.")] = None,
        smtp_port: Annotated[int | None, typer.Option(help="SMTP port.")] = None,
        smtp_security: SmtpSecurity = None,
        smtp_user: Annotated[str | None, typer.Option(help="SMTP login user.")] = None,
        smtp_from: Annotated[str | None, typer.Option(help="From address.")] = None,
        email_to: Recipients = None,
        data_home: DataHome = None,
        yes: Yes = False,
        force: Annotated[bool, typer.Option(help="Replace an existing file.")] = False,
    ) -> None:
        """Write a commented config file (every setting explained) from a few questions or flags."""
        from agent import default_config_path

        chosen: dict[str, Any] = {
            "arxiv_categories": _split(categories),
            "sources": source,
            "interests": interest,
            "llm_base_url": llm_base_url,
            "llm_model": llm_model,
            "smtp_host": smtp_host,
            "smtp_port": smtp_port,
            "smtp_security": smtp_security,
            "smtp_user": smtp_user,
            "smtp_from": smtp_from,
            "email_to": email_to,
            "home": data_home,
        }
        if not yes and sys.stdin.isatty():
            _ask(chosen)
        target = (path or state.config or default_config_path()).expanduser()
        write_config_and_explain(target, chosen, overwrite=force)

    @app.command()
    def doctor(
        as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
        restore_state: Annotated[
            bool,
            typer.Option(
                "--restore-state",
                help="Put back the backup of a damaged state file (ratings, library, digest "
                "history), keeping the damaged one aside, then check.",
            ),
        ] = False,
    ) -> None:
        """Check config, state, store, embedder, BM25 index, LLM endpoint, SMTP login and each
        source, and say what to fix."""
        from agent import CheckStatus, run_checks

        if restore_state:
            done = state.agent().restore_state()
            kept = done.damaged_copy
            aside = f"; the damaged file is kept as {kept}" if kept else ""
            output.console().print(
                output.clean(f"Restored {done.path} from the backup of {done.taken}{aside}."),
                markup=False,
                soft_wrap=True,
            )
        checks = run_checks(state.agent())
        if as_json:
            output.print_json([c.model_dump(mode="json") for c in checks])
        else:
            print_checks(checks)
        raise typer.Exit(1 if any(c.status is CheckStatus.FAIL for c in checks) else 0)


def write_config_and_explain(target: Path, chosen: dict[str, Any], *, overwrite: bool) -> None:
    """Write the answers that were given (the rest keep their defaults) and say what comes next."""
    from agent import write_config

    chosen = {k: v for k, v in chosen.items() if v not in (None, [], "")}
    write_config(target, chosen, overwrite=overwrite)
    con = output.console()
    con.print(f"Wrote {target} (mode 600). Every setting is listed there with its meaning.")
    if chosen.get("llm_base_url") is None:
        con.print("LLM: set OPENAI_API_KEY (or OPENAI_BASE_URL for a local server) in your "
                  "environment for written summaries.")  # fmt: skip
    if chosen.get("smtp_host"):
        con.print("E-mail: set PAPERBRIEF_SMTP_PASSWORD in your environment (never the file).")
    con.print("Next: `paperbrief doctor`, then `paperbrief run`. A cron line for weekdays:")
    con.print(f"  {CRON_LINE}", soft_wrap=True, markup=False)


def print_checks(checks: list[Check]) -> None:
    from rich.table import Table

    text = output.terminal_text  # details quote servers' replies and file contents
    marks = {"ok": "[green]✓ ok[/]", "warn": "[yellow]! warn[/]", "fail": "[red]✗ fail[/]",
             "skipped": "[dim]- skipped[/]"}  # fmt: skip
    table = Table("check", "status", "detail", "fix", expand=True)
    for c in checks:
        table.add_row(c.name, marks[c.status], text(c.detail), text(c.fix))
    output.console().print(table)


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _addresses(line: str) -> list[str] | None:
    """Recipients typed on one line, read as an address list: a quoted "Doe, John" is one."""
    from email.utils import getaddresses

    from agent import check_address

    def quoted(name: str) -> str:
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'

    pairs = getaddresses([line.strip(" ,")]) if line.strip(" ,") else []
    found = [check_address(f"{quoted(name)} <{addr}>" if name else addr) for name, addr in pairs]
    return found or None


def _ask(chosen: dict[str, Any]) -> None:
    """A few questions; Enter keeps the default shown."""
    cats = typer.prompt(
        "arXiv categories (comma-separated)",
        default=",".join(chosen["arxiv_categories"] or ["cs.LG", "cs.CL", "cs.AI"]),
    )
    chosen["arxiv_categories"] = _split(cats)
    interests = typer.prompt(
        "Your research interests (semicolon-separated, empty for none)", default="",
        show_default=False,
    )  # fmt: skip
    if interests.strip():
        chosen["interests"] = [i.strip() for i in interests.split(";") if i.strip()]
    if typer.confirm("Use an LLM endpoint other than OpenAI (Ollama, vLLM, llama.cpp)?"):
        chosen["llm_base_url"] = typer.prompt(
            "Endpoint URL", default=chosen["llm_base_url"] or "http://localhost:11434/v1"
        )
        chosen["llm_model"] = typer.prompt("Model name", default=chosen["llm_model"] or "llama3.1")
    if typer.confirm("E-mail the digest?", default=bool(chosen["smtp_host"])):
        chosen["smtp_host"] = typer.prompt("SMTP host", default=chosen["smtp_host"] or "")
        security = ""
        while security not in SECURITY_PORTS:
            security = typer.prompt(
                "SMTP security: starttls (587), tls (465), none (a relay on this machine only)",
                default=chosen["smtp_security"] or "starttls",
            ).strip().lower()  # fmt: skip
        chosen["smtp_security"] = security
        chosen["smtp_port"] = typer.prompt(
            "SMTP port", default=chosen["smtp_port"] or SECURITY_PORTS[security]
        )
        chosen["smtp_user"] = typer.prompt("SMTP user", default=chosen["smtp_user"] or "")
        chosen["smtp_from"] = typer.prompt("From address", default=chosen["smtp_from"] or "")
        to = typer.prompt("Send to (comma-separated)", default=", ".join(chosen["email_to"] or []))
        chosen["email_to"] = _addresses(to)
