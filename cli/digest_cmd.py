"""`paperbrief digest`: build the themed digest, write it, print it or e-mail it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli import output

if TYPE_CHECKING:
    from cli.main import AppState


def register(app: typer.Typer, state: AppState) -> None:
    @app.command()
    def digest(
        since: Annotated[
            str, typer.Option(help="Window start: 1d, 7d, 2w or a date (2026-11-20).")
        ] = "1d",
        until: Annotated[str | None, typer.Option(help="Window end (default: now).")] = None,
        category: Annotated[
            str | None, typer.Option("--category", "-c", help="Only this arXiv category.")
        ] = None,
        source: Annotated[str | None, typer.Option(help="Only papers from this source.")] = None,
        include_sent: Annotated[
            bool, typer.Option("--include-sent", help="Keep papers an earlier digest sent.")
        ] = False,
        max_papers: Annotated[
            int | None, typer.Option("--max-papers", min=1, help="Most relevant N papers only.")
        ] = None,
        out: Annotated[
            Path | None, typer.Option("--out", "-o", help="Write to FILE (.html, .md or .txt).")
        ] = None,
        email: Annotated[
            list[str] | None,
            typer.Option("--email", "-e", help="E-mail it to ADDR (repeat for several)."),
        ] = None,
        send: Annotated[
            bool, typer.Option("--send", help="E-mail it to the configured email_to addresses.")
        ] = False,
        dry_run: Annotated[
            bool,
            typer.Option(
                "--dry-run", help="Render and say where it would go; send and save nothing."
            ),
        ] = False,
        skip_empty: Annotated[
            bool, typer.Option("--skip-empty", help="Send nothing when there is nothing new.")
        ] = False,
        no_llm: Annotated[
            bool, typer.Option("--no-llm", help="Name themes from keywords, without the LLM.")
        ] = False,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print the digest as JSON (papers, themes, ...).")
        ] = False,
    ) -> None:
        """Group what is new into named themes and deliver it (stdout, a file, or e-mail)."""
        from agent.digest.render import render, write_digest

        agent = state.agent()
        settings = state.settings()
        with output.progress_bar(not as_json) as progress:
            built = agent.digest(
                since=since,
                until=until,
                category=category,
                source=source,
                include_sent=include_sent,
                max_papers=max_papers,
                use_llm=not no_llm,
                save=not dry_run,
                progress=progress,
            )
        result: dict[str, Any] = {"saved": None if dry_run else _folder(settings, built.id)}
        if out is not None:
            write_digest(built, out)
            result["out"] = str(out)
            output.err_console().print(f"Wrote {out}")

        recipients = list(email or []) or (list(settings.email_to) if send else [])
        if (email is not None or send) and not recipients:
            from agent.errors import ConfigError

            raise ConfigError(
                "--send needs recipients, and email_to is empty.",
                hint="Pass --email ADDR or set email_to in the config.",
            )
        exit_code = 0
        if recipients and built.empty and skip_empty:
            output.err_console().print("Nothing new; not sending (--skip-empty).")
        elif recipients and dry_run:
            result["would_send"] = _would_send(settings, built, recipients)
        elif recipients:
            sent = agent.send(built, to=recipients)
            result["sent"] = sent.model_dump()
            output.err_console().print(
                f"Sent \u201c{sent.subject}\u201d to {', '.join(sent.accepted)} via {sent.server}."
            )
            if sent.refused:
                exit_code = 1
                for addr, why in sent.refused.items():
                    output.print_error(f"The server refused {addr}: {why}")

        if as_json:
            output.print_json({**built.as_json(), **result})
        elif out is None and (not recipients or dry_run):
            output.console().file.write(render(built, "txt"))
        if built.empty and not as_json:
            output.err_console().print(f"Nothing new: {built.empty_reason}", markup=False)
        for note in built.notes:
            output.err_console().print(f"Note: {note}", markup=False)
        if exit_code:
            raise typer.Exit(exit_code)


def _folder(settings: Any, digest_id: str) -> str:
    return str(Path(settings.home) / "digests" / digest_id)


def _would_send(settings: Any, built: Any, recipients: list[str]) -> dict[str, Any]:
    """Where the digest would go, checked as far as possible without connecting."""
    from agent.digest.mail import SmtpConfig, check_address
    from agent.errors import PaperbriefError

    info: dict[str, Any] = {"to": recipients, "subject": built.subject}
    try:
        info["to"] = [check_address(a) for a in recipients]
        config = SmtpConfig.from_settings(settings)
        info.update(server=config.label, sender=config.sender, login=config.user or None)
        line = (
            f"Dry run: would send \u201c{built.subject}\u201d to {', '.join(recipients)} "
            f"via {config.label} from {config.sender}."
        )
        output.err_console().print(line, markup=False)
    except PaperbriefError as exc:
        info["problem"] = str(exc)
        output.print_error(f"Dry run: sending would fail: {exc}", exc.hint)
    return info
