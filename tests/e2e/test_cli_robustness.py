"""The CLI as a user meets it when something is off: closed pipes, bad configuration, broken or
linked override templates. Exit codes per CONTRACT.md, never «This is a bug»."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.cli import run
from tests.mailkit import new_db, seed

AT = "2026-03-18T10:00:00+03:00"  # 12 business days after the seed's T0: reminders are due


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = new_db(tmp_path)
    seed(db, schools_n=2)
    db.dispose()
    write_config(tmp_path)
    monkeypatch.setenv("ROLLOUT_CONFIG", str(tmp_path / "config.yaml"))
    monkeypatch.delenv("ROLLOUT_DATABASE_URL", raising=False)
    return tmp_path


def write_config(home: Path, extra: str = "") -> None:
    (home / "config.yaml").write_text(
        f"database: {{url: 'sqlite:///{home / 'rollout.db'}'}}\n{extra}", encoding="utf-8")


@pytest.mark.parametrize("args", [["status", "--region", "77"], ["status", "--school", "S1",
                                                                 "--json"],
                                  ["report"], ["--help"], ["diagram"]])
def test_a_reader_that_goes_away_ends_the_command_quietly(home: Path, args: list[str]) -> None:
    """`rollout … | head -1`: the reader closes the pipe; exit 0 and nothing on stderr."""
    proc = subprocess.Popen([sys.executable, "-m", "workflow.cli", *args], cwd=home,
                            env=dict(os.environ), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    proc.stdout.close()  # like `head` after its line, before rollout has written anything
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (0, "")


def test_a_bad_database_url_in_the_environment_exits_6(home: Path,
                                                       capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """ROLLOUT_DATABASE_URL naming an unknown dialect: exit 6 naming the variable."""
    monkeypatch.setenv("ROLLOUT_DATABASE_URL", "mysql://rollout@db.example.org/rollout")
    result = run(capsys, "status", "--region", "77")
    assert result.code == 6
    assert result.err.startswith("rollout: ROLLOUT_DATABASE_URL: 'mysql' is not a supported")


def test_a_nan_threshold_exits_6_naming_the_key(home: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """`threshold: .nan` is refused before anything runs."""
    write_config(home, "steps: {teachers: {threshold: .nan}}\n")
    result = run(capsys, "remind", "--at", AT)
    assert result.code == 6 and "steps.teachers.threshold" in result.err


def override(home: Path, files: dict[str, str]) -> Path:
    folder = home / "templates"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    write_config(home, "mail: {templates: templates}\n")
    return folder


def outbox_is_empty(capsys: pytest.CaptureFixture[str]) -> bool:
    result = run(capsys, "outbox", "list", "--json")
    return result.code == 0 and result.out.strip() == "[]"


@pytest.mark.parametrize("text,line,problem", [
    ("{% set subject = 'Напоминание' %}\nЗдравствуйте!\n{% if %}\n", 3, "Expected an expression"),
    ("{% set subject = 'Напоминание' %}\n{{ person.nickname.upper() }}\n", 2, "nickname"),
    ("{% set subject = 'Напоминание' %}\n\n{{ person.__class__.__mro__ }}\n", 3, "Security"),
], ids=["syntax", "undefined", "sandbox"])
@pytest.mark.usefixtures("russian")
def test_a_broken_override_template_exits_6_naming_file_and_line(
        home: Path, capsys: pytest.CaptureFixture[str], text: str, line: int,
        problem: str) -> None:
    """An error in an override template is the operator's input: exit 6, file and line."""
    folder = override(home, {"reminder.txt.j2": text})
    result = run(capsys, "remind", "--at", AT)
    assert result.code == 6, result.err
    assert f"шаблон {folder / 'reminder.txt.j2'}, строка {line}: " in result.err
    assert problem in result.err and "bug" not in result.err
    assert outbox_is_empty(capsys)  # the pass wrote nothing


@pytest.mark.usefixtures("russian")
def test_a_symlinked_override_template_is_refused(home: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A template that is a symbolic link is not followed (it could pull in any file)."""
    secret = home / "secret.txt"
    secret.write_text("{% set subject = 'x' %}SECRET-KEY-MATERIAL\n", encoding="utf-8")
    folder = override(home, {})
    (folder / "reminder.txt.j2").symlink_to(secret)
    result = run(capsys, "remind", "--at", AT)
    assert result.code == 6, result.err
    assert f"шаблон {folder / 'reminder.txt.j2'}: символическая ссылка" in result.err
    assert outbox_is_empty(capsys)


def test_an_include_through_a_symlink_is_refused(home: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """`{% include %}` of a link inside the folder is refused too, naming the link."""
    secret = home / "secret.txt"
    secret.write_text("SECRET-KEY-MATERIAL\n", encoding="utf-8")
    folder = override(home, {"reminder.txt.j2": "{% set subject = 'x' %}"
                                                "{% include 'part.txt' %}\n"})
    (folder / "part.txt").symlink_to(secret)
    result = run(capsys, "remind", "--at", AT)
    assert result.code == 6, result.err
    assert f"{folder / 'part.txt'}: a symbolic link" in result.err
    assert outbox_is_empty(capsys)
