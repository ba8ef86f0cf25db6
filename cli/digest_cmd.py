"""`paperbrief digest`: build the themed digest, write it, print it or e-mail it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli import output

if TYPE_CHECKING:
    from agent import Digest, PaperAgent, Settings
    from cli.state import AppState

SinceOpt = Annotated[str, typer.Option(help="Window start: 1d, 7d, 2w or a date (2026-11-20).")]
UntilOpt = Annotated[str | None, typer.Option(help="Window end (default: now).")]
CategoryOpt = Annotated[
    str | None, typer.Option("--category", "-c", help="Only this arXiv category.")
]
SourceOpt = Annotated[str | None, typer.Option(help="Only papers from this source.")]
IncludeSentOpt = Annotated[
    bool, typer.Option("--include-sent", help="Keep papers an earlier digest sent.")
]
ProfileOpt = Annotated[
    str | None,
    typer.Option("--profile", "-p", help="Rank for this reader profile ([profiles.NAME])."),
]
MaxPapersOpt = Annotated[
    int | None,
    typer.Option("--max-papers", min=1, help="Papers shown in detail (default: the profile's)."),
]
OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="Write to FILE (.html, .md or .txt).")
]
EmailOpt = Annotated[
    list[str] | None, typer.Option("--email", "-e", help="E-mail it to ADDR (repeat for several).")
]
SendOpt = Annotated[
    bool, typer.Option("--send", help="E-mail it to the profile's `to` (default: `\\[smtp] to`).")
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Render and say where it would go; send and save nothing.")
]
WebhookOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--webhook",
        "-w",
        help="Post its summary to this chat webhook (apprise URL: slack://, discord://, "
        "mmost://, json://, ...; repeat for several).",
    ),
]
PostOpt = Annotated[
    bool, typer.Option("--post", help="Post it to the profile's configured webhooks.")
]
SkipEmptyOpt = Annotated[
    bool, typer.Option("--skip-empty", help="Send nothing when there is nothing new.")
]
NoLlmOpt = Annotated[
    bool, typer.Option("--no-llm", help="Name themes from keywords, without the LLM.")
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print the digest as JSON (papers, themes, ...).")
]


@dataclass
class DigestCommand:
    """What `paperbrief digest` was asked to do."""

    since: str = "1d"
    until: str | None = None
    category: str | None = None
    source: str | None = None
    include_sent: bool = False
    max_papers: int | None = None
    out: Path | None = None
    email: list[str] | None = None
    send: bool = False
    dry_run: bool = False
    skip_empty: bool = False
    no_llm: bool = False
    as_json: bool = False
    profile: str | None = None
    webhook: list[str] | None = None
    post: bool = False
    result: dict[str, Any] = field(default_factory=dict)  # what --json adds to the digest


def register(app: typer.Typer, state: AppState) -> None:
    @app.command()
    def digest(
        since: SinceOpt = "1d",
        until: UntilOpt = None,
        category: CategoryOpt = None,
        source: SourceOpt = None,
        include_sent: IncludeSentOpt = False,
        max_papers: MaxPapersOpt = None,
        out: OutOpt = None,
        email: EmailOpt = None,
        send: SendOpt = False,
        dry_run: DryRunOpt = False,
        skip_empty: SkipEmptyOpt = False,
        no_llm: NoLlmOpt = False,
        as_json: JsonOpt = False,
        profile: ProfileOpt = None,
        webhook: WebhookOpt = None,
        post: PostOpt = False,
    ) -> None:
        """Rank what is new for a reader, show the best in named themes and count the rest;
        deliver it (stdout, a file, e-mail or chat webhooks)."""
        command = DigestCommand(
            since, until, category, source, include_sent, max_papers, out, email, send,
            dry_run, skip_empty, no_llm, as_json, profile, webhook, post,
        )  # fmt: skip
        run_digest(state.agent(), state.settings(), command)


def run_digest(agent: PaperAgent, settings: Settings, command: DigestCommand) -> None:
    """Build, write, send and show the digest; exit 1 when the server refused a recipient."""
    from agent import write_digest

    recipients = _recipients(settings, command)  # bad input fails before any work is done
    webhooks = _webhooks(settings, command)
    _check_out(command.out)
    # One hold of the writer lock from building to sending: no other writer gets in between.
    with agent.writing():
        with output.progress_bar(not command.as_json) as progress:
            built = agent.digest(
                since=command.since,
                until=command.until,
                category=command.category,
                source=command.source,
                include_sent=command.include_sent,
                max_papers=command.max_papers,
                use_llm=not command.no_llm,
                profile=command.profile,
                save=not command.dry_run,
                progress=progress,
            )
        command.result["saved"] = None if command.dry_run else _folder(settings, built.id)
        if command.out is not None:
            write_digest(built, command.out)
            command.result["out"] = str(command.out)
            output.err_console().print(f"Wrote {command.out}", markup=False)
        exit_code = _deliver(agent, settings, built, recipients, command)
        exit_code = max(exit_code, _post(agent, settings, built, webhooks, recipients, command))
    _show(built, recipients or webhooks, command)
    if exit_code:
        raise typer.Exit(exit_code)


def _recipients(settings: Settings, command: DigestCommand) -> list[str]:
    """Each --email parsed as one address (never split on its commas), or the profile's."""
    from agent import check_address

    wanted = settings.profile(command.profile).to
    recipients = list(command.email or []) or (list(wanted) if command.send else [])
    if (command.email is not None or command.send) and not recipients:
        from agent import ConfigError

        raise ConfigError(
            "--send needs recipients, and `[smtp] to` is empty.",
            hint="Pass --email ADDR or set `to` under [smtp] in the config.",
        )
    return [check_address(a, what="--email" if command.email else "[smtp] to") for a in recipients]


def _webhooks(settings: Settings, command: DigestCommand) -> list[str]:
    """Each --webhook checked by apprise now (not after the build), or the profile's."""
    from agent import ConfigError, check_webhooks, webhooks_for

    if command.webhook:
        return check_webhooks(command.webhook)
    if not command.post:
        return []
    configured = webhooks_for(settings, command.profile)
    if not configured:
        raise ConfigError(
            "--post needs webhooks, and the profile has none.",
            hint='Pass --webhook URL or set webhooks = ["slack://..."] under [digest] '
            "(or [profiles.NAME]) in the config.",
        )
    return configured


def _post(
    agent: PaperAgent, settings: Settings, built: Digest, webhooks: list[str],
    recipients: list[str], command: DigestCommand,
) -> int:  # fmt: skip
    """Post to chat (after the mail, which raised if it failed); the exit code. Each channel
    gets the digest once; one that fails gets it on the next --webhook/--post or `run`."""
    from agent import post_to_chat

    if not webhooks or (built.empty and command.skip_empty):
        return 0
    # with no mail, chat is the delivery: the next digest does not repeat these papers
    report = post_to_chat(agent, built, webhooks, mark_sent=not recipients,
                          dry_run=command.dry_run)  # fmt: skip
    err = output.err_console()
    if command.dry_run:
        command.result["would_post"] = [r.channel for r in report.results]
        err.print(f"Dry run: would post to {', '.join(command.result['would_post'])}.",
                  markup=False)  # fmt: skip
        return 0
    command.result["posts"] = [r.model_dump() for r in report.results]
    for result in report.posted:
        again = " (retried)" if result.retried else ""
        err.print(f"Posted {result.digest_id} to {result.channel}{again}.", markup=False)
    for result in report.failed:
        output.print_error(
            f"Posting {result.digest_id} to {result.channel} failed: {result.reason}",
            f"The digest is saved in {_folder(settings, result.digest_id)}; the next "
            "`paperbrief digest --webhook`/`--post` or `paperbrief run` posts it there again.",
        )
    return 1 if report.failed else 0


def _check_out(out: Path | None) -> None:
    from agent import InputError, format_for_path

    if out is None:
        return
    if out.is_dir():
        raise InputError(f"--out {out} is a directory.", hint="Give a file name: digest.html.")
    format_for_path(str(out))


def _deliver(
    agent: PaperAgent,
    settings: Settings,
    built: Digest,
    recipients: list[str],
    command: DigestCommand,
) -> int:
    """Send (or, with --dry-run, check where it would go); the exit code."""
    if not recipients:
        return 0
    if built.empty and command.skip_empty:
        output.err_console().print("Nothing new; not sending (--skip-empty).")
        return 0
    if command.dry_run:
        command.result["would_send"] = _would_send(settings, built, recipients)
        return 0
    sent = agent.send(built, to=recipients)
    command.result["sent"] = sent.model_dump()
    output.err_console().print(
        f"Sent \u201c{sent.subject}\u201d to {', '.join(sent.accepted)} via {sent.server}.",
        markup=False,
    )
    for line in sent.refusals(built.id):  # remembered: the next `run` sends it again
        output.print_error(line)
    return 1 if sent.refused else 0


def _show(built: Digest, recipients: list[str], command: DigestCommand) -> None:
    from agent import render_digest as render

    if command.as_json:
        output.print_json({**built.as_json(), **command.result})
    elif command.out is None and (not recipients or command.dry_run):
        output.console().file.write(output.clean(render(built, "txt")))
    if built.empty and not command.as_json:
        output.err_console().print(output.clean(f"Nothing new: {built.empty_reason}"), markup=False)
    for note in built.notes:
        output.err_console().print(output.clean(f"Note: {note}"), markup=False)


def _folder(settings: Settings, digest_id: str) -> str:
    return str(settings.layout.digest_folder(digest_id))


def _would_send(settings: Settings, built: Digest, recipients: list[str]) -> dict[str, Any]:
    """Where the digest would go, checked as far as possible without connecting."""
    from agent import PaperbriefError, SmtpConfig, check_address

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
