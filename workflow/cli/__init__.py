"""The `rollout` command line: a thin click layer over the services; exit codes in one place."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from storage.errors import ChainBroken, ConflictError, DatabaseNotReady
from workflow.cli.common import AppContext
from workflow.errors import GuardRefused, InvalidInput, PermissionDenied, UsageError

# The exit codes of CONTRACT.md, by error type (the first match wins).
EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (UsageError, 2),
    (GuardRefused, 3),
    (PermissionDenied, 4),
    (ConflictError, 5),
    (InvalidInput, 6),
    (DatabaseNotReady, 6),
    (ChainBroken, 7),
)


# Each command and the module that defines it: a module is imported only when its command runs,
# so `rollout status` does not pay for Jinja2, APScheduler or the web stack.
COMMANDS = {
    "init": "machines", "import": "machines", "assign": "machines", "status": "machines",
    "advance": "machines", "skip": "machines", "reopen": "machines", "unassign": "people",
    "report": "reports", "diagram": "reports", "audit": "audit",
    "letter": "mail", "remind": "mail", "outbox": "mail", "run": "mail",
    "dashboard": "web", "serve": "web", "token": "web", "demo": "demo",
}


class LazyGroup(click.Group):
    """A group that imports a command's module when the command is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        collected = click.Group()
        importlib.import_module(f"workflow.cli.{module}").register(collected)
        return collected.commands.get(cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"],
                                              "max_content_width": 100})
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Configuration file (default: $ROLLOUT_CONFIG or ./config.yaml).")
@click.version_option(package_name="rollout")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """Run the rollout of ФГИС «Моя школа»: nine steps for every region and school."""
    ctx.obj = AppContext(config_path)


def exit_code(exc: BaseException) -> int:
    for kind, code in EXIT_CODES:
        if isinstance(exc, kind):
            return code
    return 1


def main(argv: list[str] | None = None) -> Any:
    """Entry point: run the CLI, turn known failures into messages and exit codes."""
    try:
        cli.main(args=argv, prog_name="rollout", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return sys.exit(1)
    except click.ClickException as exc:  # usage errors: bad options, missing arguments
        exc.show()
        return sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - the one place that turns errors into exit codes
        code = exit_code(exc)
        if code == 1:
            click.echo(f"rollout: unexpected error: {type(exc).__name__}: {exc}", err=True)
            click.echo("This is a bug; please report it with the command you ran.", err=True)
        else:
            click.echo(f"rollout: {exc}", err=True)
        return sys.exit(code)
    return sys.exit(0)
