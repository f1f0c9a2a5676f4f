"""What people read is Russian by default and English under ROLLOUT_LANG=en, exit codes alike."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from tests.e2e.cli import Result, run

AT = "2026-09-01T10:00:00+03:00"


@pytest.fixture
def russian(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ROLLOUT_LANG, and a LANG that says English: the default must still be Russian."""
    monkeypatch.delenv("ROLLOUT_LANG", raising=False)
    monkeypatch.setenv("LANG", "en_US.UTF-8")


@pytest.fixture
def region(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
           ) -> Path:
    """Камчатский край (МСК+9) with one school and its support, imported from files."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ROLLOUT_CONFIG", raising=False)
    monkeypatch.delenv("ROLLOUT_DATABASE_URL", raising=False)
    (tmp_path / "config.yaml").write_text("mail: {transport: file, dir: mail/}\n",
                                          encoding="utf-8")
    files = {
        "regions": [["code", "name", "timezone"], ["41", "Камчатский край", "Asia/Kamchatka"]],
        "schools": [["region", "code", "name", "teachers_expected", "classes_expected",
                     "students_expected"], ["41", "410001", "МБОУ «СОШ № 1»", 10, 5, 100]],
        "people": [["email", "name", "role", "scope"], ["support@op.ru", "СТП", "support", ""],
                   ["rc@kam.ru", "Иванов И.И.", "regional_coordinator", "41"]],
    }
    assert run(capsys, "init").code == 0
    for kind, rows in files.items():
        with (tmp_path / f"{kind}.csv").open("w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows(rows)
        assert run(capsys, "import", kind, f"{kind}.csv", "--at", AT).code == 0
    return tmp_path


def advance(capsys: pytest.CaptureFixture[str], step: str, actor: str) -> Result:
    return run(capsys, "advance", "--region", "41", "--step", step, "--as", actor, "--at", AT)


def test_a_refusal_is_russian_by_default_and_english_on_request(
        region: Path, russian: None, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Out of order: exit 3 in both languages; the message names the step in each."""
    ru = advance(capsys, "registry", "rc@kam.ru")
    assert ru.code == 3
    assert ru.err.startswith("rollout: регион 41: отказ: ")
    assert "сначала нужно выполнить шаг" in ru.err and "refused" not in ru.err
    monkeypatch.setenv("ROLLOUT_LANG", "en")
    en = advance(capsys, "registry", "rc@kam.ru")
    assert en.code == 3
    assert en.err.startswith("rollout: region 41: refused: ")
    assert "coordinator must be done first" in en.err


def test_an_outcome_is_russian_by_default_and_english_on_request(
        region: Path, russian: None, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A completed step and its reopening read in the chosen language; JSON stays the same."""
    done = advance(capsys, "coordinator", "support@op.ru")
    assert done.code == 0
    assert done.out.startswith("регион 41: шаг coordinator выполнен; теперь состояние registry")
    assert "(и ещё 1 переход следом)" in done.out  # the school follows, counted in Russian
    ru_json = run(capsys, "status", "--school", "410001", "--json").out
    monkeypatch.setenv("ROLLOUT_LANG", "en")
    reopened = run(capsys, "reopen", "--region", "41", "--step", "coordinator", "--as",
                   "support@op.ru", "--reason", "письмо отозвано", "--at", AT)
    assert reopened.code == 0
    assert reopened.out.startswith("region 41: coordinator reopened; state is now coordinator")
    monkeypatch.setenv("ROLLOUT_LANG", "ru")
    advance(capsys, "coordinator", "support@op.ru")
    en_json = run(capsys, "status", "--school", "410001", "--json").out
    drop = ("version", "since", "step_details", "open", "current")  # moved by the reopen
    assert ({k: v for k, v in json.loads(ru_json).items() if k not in drop}
            == {k: v for k, v in json.loads(en_json).items() if k not in drop})


def test_unknown_code_and_a_bug_keep_their_exit_codes(
        region: Path, russian: None, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Exit 6 for an unknown region and exit 2 for a missing --reason, in both languages."""
    ru = run(capsys, "advance", "--region", "99", "--step", "coordinator", "--as", "x@y.ru")
    skip_ru = run(capsys, "skip", "--region", "41", "--step", "municipalities", "--as",
                  "rc@kam.ru", "--reason", " ")
    monkeypatch.setenv("ROLLOUT_LANG", "en")
    en = run(capsys, "advance", "--region", "99", "--step", "coordinator", "--as", "x@y.ru")
    skip_en = run(capsys, "skip", "--region", "41", "--step", "municipalities", "--as",
                  "rc@kam.ru", "--reason", " ")
    assert (ru.code, en.code) == (6, 6)
    assert "неизвестный код: регион '99'" in ru.err and "unknown region code '99'" in en.err
    assert (skip_ru.code, skip_en.code) == (2, 2)
    assert "нужна причина --reason" in skip_ru.err and "needs --reason" in skip_en.err


def test_status_and_history_name_the_zone_as_people_do(
        region: Path, russian: None, capsys: pytest.CaptureFixture[str]) -> None:
    """Kamchatka's times are shown at МСК+9 with the zone named; history events by Russian
    names; --json keeps the machine names and UTC."""
    advance(capsys, "coordinator", "support@op.ru")
    status = run(capsys, "status", "--region", "41")
    assert "с (время МСК+9, Петропавловск-Камчатский)" in status.out
    assert "2026-09-01 19:00" in status.out  # 10:00 in Moscow
    assert "✔ выполнен" in status.out and "▶ текущий" in status.out
    log = run(capsys, "audit", "log", "--school", "410001")
    assert log.code == 0
    assert "Шаг выполнен" in log.out and "StepCompleted" not in log.out
    assert "2026-09-01 19:00:00" in log.out
    assert "время: МСК+9, Петропавловск-Камчатский (Asia/Kamchatka)" in log.out
    events = json.loads(run(capsys, "audit", "log", "--school", "410001", "--json").out)
    assert "StepCompleted" in [e["event"] for e in events]
    assert events[-1]["at"].startswith("2026-09-01T07:00:00")


def test_import_summary_and_help_are_russian(
        region: Path, russian: None, capsys: pytest.CaptureFixture[str]) -> None:
    """The import summary and the help texts are Russian."""
    r = run(capsys, "import", "schools", "schools.csv", "--dry-run", "--at", AT)
    assert r.code == 0
    assert "schools.csv: schools, строк: 1; создано 0, обновлено 0, без изменений 1" in r.out
    assert "(пробный прогон: ничего не записано)" in r.out
    top = run(capsys, "--help")
    assert "Внедрение ФГИС «Моя школа»" in top.out
    assert "Выполнить текущий шаг региона или школы." in top.out
    sub = run(capsys, "advance", "--help")
    assert "Почему (сохраняется в истории)." in sub.out
    assert not re.search(r"Complete the current step", sub.out)
