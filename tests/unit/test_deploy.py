"""The systemd units in deploy/: each starts a real `rollout` command with options the CLI
accepts, and `systemd-analyze verify` finds nothing wrong with them."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from workflow.cli import cli

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = sorted(DEPLOY.glob("*.service"))


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser


def test_there_is_a_unit_for_serve_and_for_run() -> None:
    commands = {shlex.split(_unit(p)["Service"]["ExecStart"])[1] for p in UNITS}
    assert commands == {"serve", "run"}


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_execstart_is_a_rollout_command_the_cli_accepts(path: Path) -> None:
    unit = _unit(path)
    argv = shlex.split(unit["Service"]["ExecStart"])
    assert Path(argv[0]).name == "rollout"
    ctx = click.Context(cli, info_name="rollout")
    command = cli.get_command(ctx, argv[1])
    assert command is not None, argv
    command.make_context(argv[1], argv[2:], parent=ctx)  # click.UsageError on a bad option
    service = unit["Service"]
    assert service["User"] != "root"
    assert service["Environment"].startswith("ROLLOUT_CONFIG=")
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_a_bad_option_would_be_caught() -> None:
    """The check above is not vacuous: an option `serve` does not have is refused."""
    ctx = click.Context(cli, info_name="rollout")
    command = cli.get_command(ctx, "serve")
    assert command is not None
    with pytest.raises(click.UsageError):
        command.make_context("serve", ["--workers", "4"], parent=ctx)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verify_passes(tmp_path: Path) -> None:
    """The units as written, with ExecStart pointed at this checkout's `rollout` (the unit's
    own path is where the README installs it)."""
    rollout = Path(sys.executable).with_name("rollout")
    for path in UNITS:
        text = path.read_text(encoding="utf-8").replace("/opt/rollout/.venv/bin/rollout",
                                                        str(rollout))
        (tmp_path / path.name).write_text(text, encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", *(str(tmp_path / p.name)
                                                          for p in UNITS)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
