"""`paperbrief mcp`: serve the store to MCP clients (stdio, or streamable HTTP on loopback)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cli import output

if TYPE_CHECKING:
    from cli.state import AppState

HTTP_HELP = (
    "Serve streamable HTTP on HOST:PORT (endpoint /mcp) instead of stdio; loopback only unless "
    "--allow-remote."
)
WRITES_HELP = "Also offer tools that write to the store (rate). Read-only without it."
REMOTE_HELP = (
    "Allow --http on a non-loopback address. The server has no authentication: put it behind "
    "a proxy that has."
)


def register(app: typer.Typer, state: AppState) -> None:
    @app.command()
    def mcp(
        http: Annotated[
            str | None, typer.Option("--http", metavar="HOST:PORT", help=HTTP_HELP)
        ] = None,
        allow_writes: Annotated[bool, typer.Option("--allow-writes", help=WRITES_HELP)] = False,
        allow_remote: Annotated[bool, typer.Option("--allow-remote", help=REMOTE_HELP)] = False,
    ) -> None:
        """Serve the store to MCP clients (Claude Desktop, Claude Code, Cursor, ...): tools
        search, ask, show_paper, latest_digest (and rate with --allow-writes), and the latest
        digest as a resource. stdio unless --http."""
        from agent import Settings, default_config_path, serve_mcp

        def announce(url: str) -> None:
            mode = "read and write" if allow_writes else "read-only"
            output.err_console().print(
                f"paperbrief MCP server at {url} ({mode}); Ctrl-C stops it.",
                markup=False,
                highlight=False,
            )

        serve_mcp(
            lambda: Settings.load(state.config, home=state.home),
            config=state.config or default_config_path(),
            lock_wait=state.wait,
            allow_writes=allow_writes,
            http=http,
            allow_remote=allow_remote,
            announce=announce,
        )
