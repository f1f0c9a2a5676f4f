"""The `rollout` command line: a thin click layer over the services; exit codes in one place."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, NoReturn

import click

from notifications.errors import TemplateBroken, TemplateMissing, WriterStopped
from storage.errors import ChainBroken, ConflictError, DatabaseBusy, DatabaseNotReady
from workflow.cli.common import AppContext
from workflow.errors import GuardRefused, InvalidInput, PermissionDenied, UsageError
from workflow.i18n import _, error_text

# The exit codes of CONTRACT.md, by error type (the first match wins).
EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (UsageError, 2),
    (GuardRefused, 3),
    (PermissionDenied, 4),
    (ConflictError, 5),
    (DatabaseBusy, 5),  # like a conflict: nothing was written, try again
    (WriterStopped, 5),  # a reminder pass stopped between parts: run it again for the rest
    (InvalidInput, 6),
    (DatabaseNotReady, 6),
    (TemplateBroken, 6),  # an override template (mail.templates): the operator's input
    (TemplateMissing, 6),
    (ChainBroken, 7),
)


# Each command and the module that defines it: a module is imported only when its command runs,
# so `rollout status` does not pay for Jinja2, APScheduler or the web stack.
COMMANDS = {
    "init": "machines", "import": "machines", "assign": "machines", "status": "machines",
    "advance": "machines", "skip": "machines", "reopen": "machines", "settle": "machines",
    "unassign": "people",
    "report": "reports", "diagram": "reports", "audit": "audit",
    "letter": "mail", "remind": "mail", "outbox": "mail", "run": "mail",
    "dashboard": "web", "serve": "web", "token": "web", "demo": "demo", "steps": "steps",
    "reconcile": "reconcile",
}


class PipeClosed(Exception):
    """Whoever read our output went away (`rollout status | head -1`)."""


class LazyGroup(click.Group):
    """A group that imports a command's module when the command is asked for."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        try:  # `rollout --help | head -1` prints while parsing
            return super().make_context(info_name, args, parent, **extra)
        except BrokenPipeError:
            raise PipeClosed() from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # click would turn it into a silent exit 1
            raise PipeClosed() from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        collected = click.Group()
        importlib.import_module(f"workflow.cli.{module}").register(collected)
        command = collected.commands.get(cmd_name)
        return translate_help(command) if command else None

    def get_help(self, ctx: click.Context) -> str:
        translate_help(self)
        return super().get_help(ctx)


def translate_help(command: click.Command) -> click.Command:
    """Help texts in the reader's language: each docstring and option help is a message id of
    the catalogue (kept as the id, so that the language can change between calls in tests)."""
    for item in [command, *command.params]:
        original = item.__dict__.setdefault("_help_id", getattr(item, "help", None))
        if original:
            item.help = _(original)  # type: ignore[attr-defined]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            translate_help(sub)
    return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"],
                                              "max_content_width": 100})
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Configuration file (default: $ROLLOUT_CONFIG or ./config.yaml).")
@click.version_option(package_name="rollout")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """Run the rollout of ФГИС «Моя школа»: nine steps for every region and school."""
    ctx.obj = AppContext(config_path)
    ctx.call_on_close(ctx.obj.close)


def exit_code(exc: BaseException) -> int:
    for kind, code in EXIT_CODES:
        if isinstance(exc, kind):
            return code
    return 1


def _pipe_closed() -> NoReturn:
    """Stop quietly with exit 0, as other Unix tools do when their reader has what it needs."""
    try:  # nothing more may reach the closed pipe, not even the interpreter's final flush
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (a test's capture)
        pass
    sys.exit(0)


def main(argv: list[str] | None = None) -> Any:
    """Entry point: run the CLI, turn known failures into messages and exit codes."""
    try:
        cli.main(args=argv, prog_name="rollout", standalone_mode=False)
        sys.stdout.flush()  # a reader gone away shows here, not in the interpreter's last flush
    except (PipeClosed, BrokenPipeError):
        return _pipe_closed()
    except click.exceptions.Exit as exc:
        return sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo(_("aborted"), err=True)
        return sys.exit(1)
    except click.ClickException as exc:  # usage errors: bad options, missing arguments
        exc.show()
        return sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - the one place that turns errors into exit codes
        code = exit_code(exc)
        if code == 1:
            click.echo(_("rollout: unexpected error: {kind}: {error}", kind=type(exc).__name__,
                         error=exc), err=True)
            click.echo(_("This is a bug; please report it with the command you ran."), err=True)
        else:
            click.echo(f"rollout: {error_text(exc)}", err=True)
        return sys.exit(code)
    return sys.exit(0)
