"""The `paperbrief` command: global options, the one error boundary, and command registration.

Nothing heavy is imported here: `paperbrief --help` must stay fast, so each command imports what it
needs when it runs.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from cli import output
from cli.state import AppState

log = logging.getLogger(__name__)

EXIT_UNEXPECTED = 70


class _ErrorBoundary(TyperGroup):
    """Turns paperbrief's own errors into one clear message and an exit code; no tracebacks for
    failures we expect (bad input, unreachable servers, missing keys)."""

    def invoke(self, ctx: Any) -> Any:
        from agent import PaperbriefError

        try:
            return super().invoke(ctx)
        except PaperbriefError as exc:
            from agent import disk_error

            shown = disk_error(exc, _home()) or exc  # a full disk is no other writer's fault
            output.print_error(str(shown), shown.hint)
            raise typer.Exit(shown.exit_code) from None
        except KeyboardInterrupt:
            output.print_error("Interrupted.", "Run the same command again: it resumes.")
            raise typer.Exit(130) from None
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise  # the command's own exit code, or a usage error click reports itself
        except Exception as exc:  # a full or read-only disk is bad configuration, not a bug
            from agent import disk_error

            found = disk_error(exc, _home())
            if found is None:
                raise
            output.print_error(str(found), found.hint)
            raise typer.Exit(found.exit_code) from None


def _home() -> Path | None:
    """The home the command uses, as far as the settings got (None when they did not load)."""
    if STATE._settings is not None:
        return STATE._settings.home
    return STATE.home


STATE = AppState()

app = typer.Typer(
    cls=_ErrorBoundary,
    name="paperbrief",
    help="Keeps you on top of new papers: ingest abstracts, summarize them, send a themed digest, "
    "and answer questions with citations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", envvar="PAPERBRIEF_CONFIG", help="TOML config file to read."),
    ] = None,
    home: Annotated[
        Path | None,
        typer.Option("--home", envvar="PAPERBRIEF_HOME", help="Directory for all data."),
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More logging (-vv for debug).")
    ] = 0,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            min=0,
            metavar="SECONDS",
            envvar="PAPERBRIEF_WAIT",
            help="How long a command that writes waits for another one writing to the same "
            "store; 0: exit 3 at once, naming it.",
        ),
    ] = 0.0,
) -> None:
    STATE.config, STATE.home, STATE.verbosity, STATE.wait = config, home, verbose, wait
    STATE._settings = STATE._agent = None
    output.setup_logging(verbose)
    ctx.call_on_close(STATE.close)


def _register() -> None:
    from cli import (
        admin_cmd,
        ask_cmd,
        backfill_cmd,
        daily_cmd,
        digest_cmd,
        ingest_cmd,
        library_cmd,
        mcp_cmd,
        onboarding_cmd,
        search_cmd,
        serve_cmd,
        summarize_cmd,
    )

    daily_cmd.register(app, STATE)
    ingest_cmd.register(app, STATE)
    backfill_cmd.register(app, STATE)
    search_cmd.register(app, STATE)
    summarize_cmd.register(app, STATE.agent)
    digest_cmd.register(app, STATE)
    ask_cmd.register(app, STATE)
    library_cmd.register(app, STATE)
    admin_cmd.register(app, STATE)
    onboarding_cmd.register(app, STATE)
    mcp_cmd.register(app, STATE)
    serve_cmd.register(app, STATE)


_register()


def run() -> None:
    """Console-script entry point."""
    try:
        app()
    except Exception as exc:
        # The boundary above handled every expected failure, so this is a bug: say so briefly
        # and keep the traceback for -vv.
        if STATE.verbosity > 1:
            raise
        output.print_error(
            f"Unexpected error: {type(exc).__name__}: {exc}",
            "Run again with -vv for the traceback and report it as a bug.",
        )
        sys.exit(EXIT_UNEXPECTED)


if __name__ == "__main__":
    run()
