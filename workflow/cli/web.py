"""Web commands: `dashboard --out DIR`, `serve`, `token create|revoke`.

The dashboard package is imported inside the commands, so the rest of the CLI runs without the
web extras; `serve` is the one place that reads the wall clock for the pages, per request.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from workflow.cli.common import AppContext, at_option, now, pass_app
from workflow.i18n import _, ngettext, process_language


def register(cli: click.Group) -> None:
    cli.add_command(dashboard)
    cli.add_command(serve)
    cli.add_command(token)


def wall_clock() -> datetime:
    """The moment a served page shows: now, read when the request arrives."""
    return datetime.now(UTC)


@click.command()
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Directory for the static pages (index.html first).")
@at_option
@pass_app
def dashboard(app: AppContext, out_dir: str, at: str | None) -> None:
    """Write the progress dashboard as static files (a snapshot without contacts or history)."""
    from web import write_static

    files = write_static(app.services, out_dir, now(at), process_language())
    click.echo(ngettext("wrote {n} file; open {first}", "wrote {n} files; open {first}",
                        len(files), first=files[0]))


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--proxy-headers", is_flag=True,
              help="Behind a reverse proxy: take the client address and the scheme (https) "
                   "from X-Forwarded-For and X-Forwarded-Proto.")
@click.option("--forwarded-allow-ips", default="127.0.0.1", show_default=True, metavar="IPS",
              help="With --proxy-headers: the proxies trusted to send them (comma-separated).")
@pass_app
def serve(app: AppContext, host: str, port: int, proxy_headers: bool,
          forwarded_allow_ips: str) -> None:
    """Serve the pages, the sign-in by e-mail link, the actions and the JSON API."""
    try:
        import uvicorn

        from web import create_app
    except ImportError as exc:  # the web extras are optional
        from workflow.errors import UsageError

        raise UsageError(_("serve needs the web extras (pip install 'rollout[web]'): {error}",
                           error=exc)) from None
    url = f"http://{host}:{port}/"
    click.echo(_("serving the dashboard on {url} (Ctrl+C stops it)", url=url))
    uvicorn.run(create_app(app.services, wall_clock, process_language()), host=host, port=port,
                log_level="info", server_header=False, proxy_headers=proxy_headers,
                forwarded_allow_ips=forwarded_allow_ips)


@click.group()
def token() -> None:
    """Personal access tokens for `serve` (stored hashed, shown once)."""


@token.command()
@click.option("--email", required=True, help="The person (must exist in people).")
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 3650),
              help="Days the token is valid; after that it is refused (401).")
@at_option
@pass_app
def create(app: AppContext, email: str, days: int, at: str | None) -> None:
    """Create a token for a person (replacing their previous one); printed once, last line."""
    from web.access import create_token

    moment = now(at)
    value = create_token(app.services, email, moment, days)
    until = (moment + timedelta(days=days)).astimezone(UTC).strftime("%d.%m.%Y %H:%M UTC")
    click.echo(_("token for {email}, valid until {until} (shown once; any earlier token is "
                 "revoked):", email=email.strip().lower(), until=until))
    click.echo(value)


@token.command()
@click.option("--email", required=True, help="The person whose tokens are removed.")
@at_option
@pass_app
def revoke(app: AppContext, email: str, at: str | None) -> None:
    """Revoke every token of a person."""
    from web.access import revoke_tokens

    n = revoke_tokens(app.services, email, now(at))
    click.echo(ngettext("revoked {n} token of {email}", "revoked {n} tokens of {email}", n,
                        email=email.strip().lower()))
