"""What every command shares: the loaded configuration, the services, the clock, output."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from typing import Any, TypeVar

import click

from workflow import config as config_mod
from workflow.clock import now_or
from workflow.config import Config
from workflow.services import Services

F = TypeVar("F", bound=Callable[..., Any])


class AppContext:
    """Built once per call; loads the configuration and the database only when needed."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path

    @cached_property
    def config(self) -> Config:
        return config_mod.load(self.config_path)

    @cached_property
    def services(self) -> Services:
        services = Services(self.config)
        services.db.on_wait = say_waiting
        services.db.check_ready()
        return services

    def close(self) -> None:
        """The command is over: close the database connections it opened (if it opened any)."""
        if "services" in self.__dict__:
            self.services.db.dispose()


def say_waiting(message: Any) -> None:
    """A write waits for another writer: tell the person, on stderr, once."""
    from workflow.i18n import translate

    click.echo(f"rollout: {translate(message)}", err=True)


pass_app = click.make_pass_decorator(AppContext)


def at_option(f: F) -> F:
    """`--at`: act as if it were that moment (ISO 8601 with an offset); default now."""
    return click.option("--at", "at", metavar="DATETIME",
                        help="Act as if it were this moment (ISO 8601 with offset).")(f)


def now(at: str | None) -> datetime:
    return now_or(at)


def _actor(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """`--as` within the width of an address (PostgreSQL refuses longer; exit 6, not 1)."""
    from storage.models import people
    from workflow.importing.validation import check_argument

    return check_argument("--as", value, people.c.email)


def check_arguments(**values: str | None) -> None:
    """Person and scope options within their columns' widths, codes in a code's shape (exit 6
    naming the option): the limits an import cell keeps, so both databases accept the value."""
    from storage.models import assignments, people
    from workflow.importing.validation import check_argument

    columns = {"scope": assignments.c.scope, "email": people.c.email, "name": people.c.name,
               "position": people.c.position, "phone": people.c.phone}
    for name, value in values.items():
        column = columns.get(name, people.c.get(name))
        check_argument(f"--{name}", value, column, code=name == "scope")


def actor_option(f: F) -> F:
    return click.option("--as", "actor", required=True, metavar="EMAIL", callback=_actor,
                        help="The person acting (checked against roles and scopes).")(f)


def target_options(school: bool = True) -> Callable[[F], F]:
    def deco(f: F) -> F:
        if school:
            f = click.option("--school", metavar="CODE", help="A school's code.")(f)
        return click.option("--region", metavar="CODE", help="A region's code.")(f)
    return deco


def pick_target(region: str | None, school: str | None = None) -> tuple[str, str]:
    from workflow.errors import UsageError
    from workflow.i18n import _

    if region and not school:
        return "region", region
    if school and not region:
        return "school", school
    raise UsageError(_("give exactly one of --region CODE or --school CODE"))


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
