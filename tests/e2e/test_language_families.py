"""The rest of the command line in both languages: reconcile, audit, unassign, import errors,
mail summaries and the roles in `status` read Russian by default and English under
ROLLOUT_LANG=en, with the same exit codes."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.cli import Result, run
from tests.e2e.test_cli import AT, home, loaded, write  # noqa: F401 - fixtures used by name
from tests.reconcile_kit import inn

Run = Callable[..., tuple[Result, Result]]


@pytest.fixture
def folder(request: pytest.FixtureRequest) -> Path:
    """Region 07 with two schools and its people, imported (tests/e2e/test_cli.py `loaded`)."""
    loaded_folder: Path = request.getfixturevalue("loaded")
    return loaded_folder


@pytest.fixture
def both(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run a command in Russian (no ROLLOUT_LANG, LANG saying English), then in English."""

    def twice(*args: str) -> tuple[Result, Result]:
        monkeypatch.delenv("ROLLOUT_LANG", raising=False)
        monkeypatch.setenv("LANG", "en_US.UTF-8")
        ru = run(capsys, *args)
        monkeypatch.setenv("ROLLOUT_LANG", "en")
        return ru, run(capsys, *args)

    return twice


def test_reconcile_speaks_russian_by_default(folder: Path, both: Run) -> None:
    """The summary line, the section titles and the open discrepancies, in each language."""
    listing = write(folder / "список.csv", [
        ["ИНН", "КПП", "Полное наименование", "Муниципалитет"],
        ["7707083893", "", 'МКОУ "СОШ №1"', ""],
        [inn(3), "070101001", "МКОУ «СОШ № 3»", ""]])
    ru, en = both("reconcile", "--region", "07", str(listing), "--as", "rc@kbr.ru", "--at", AT)
    assert (ru.code, en.code) == (0, 0), ru.err
    assert ru.out.startswith("Сверка реестра № 1, регион 07, файл список.csv: совпало 1; "
                             "добавить 1, удалить 1, привязать 0, изменить 0, не сопоставлено 0")
    assert "Добавить (есть в списке региона, нет в реестре)" in ru.out
    assert "Наименование" in ru.out and "Открыто расхождений: 2." in ru.out
    assert en.out.startswith("Registry reconciliation No. 2, region 07, file список.csv: "
                             "matched 1; add 1, remove 1")
    assert "Open discrepancies: 2." in en.out and "Сверка" not in en.out
    ru, en = both("reconcile", "--region", "07", "--accept", "--reason", "школа закрыта",
                  "--as", "rc@kbr.ru", "--at", AT)
    assert (ru.code, en.code) == (0, 0)
    assert ru.out.strip() == "регион 07: принято 2 расхождения по сверке № 2"
    assert en.out.strip() == ("region 07: reconciliation No. 2 has no open discrepancies; "
                              "nothing to accept")
    ru, en = both("reconcile", "--region", "07", "--accept", "--as", "rc@kbr.ru", "--at", AT)
    assert (ru.code, en.code) == (2, 2)
    assert "reconcile --accept требует --reason" in ru.err and "needs --reason" in en.err


def test_audit_anchor_and_a_broken_history_speak_russian(folder: Path, both: Run) -> None:
    """`audit anchor` and `audit verify` in each language; a tampered event is named in both,
    exit 7 alike."""
    ru, en = both("audit", "anchor", "--at", AT)
    assert (ru.code, en.code) == (0, 0)
    assert ru.out.startswith("история проверена (6 событий); голова цепочки записана в таблицу "
                             "anchors. Сохраните строку ниже вне базы:")
    assert en.out.startswith("history verified (6 events); its head is recorded")
    ru, en = both("audit", "verify")
    assert (ru.code, en.code) == (0, 0)
    assert ru.out.startswith("история проверена: 6 событий, цепочка цела; якорей сверено: 2")
    assert "совпадают с историей: машин 4, назначений 3" in ru.out
    assert en.out.startswith("history verified: 6 events, the chain is intact; anchors "
                             "checked: 2")
    with sqlite3.connect(folder / "rollout.db") as db:
        db.execute("UPDATE events SET actor = 'someone' WHERE seq = 2")
    ru, en = both("audit", "verify")
    assert (ru.code, en.code) == (7, 7)
    assert ru.err.strip() == ("rollout: история не сходится с событием №2: содержимое не "
                              "совпадает с хешем (событие изменено)")
    assert en.err.strip() == ("rollout: the history does not verify at event #2: its content "
                              "does not match its hash (the event was altered)")


def test_a_state_that_differs_from_the_history_is_named_in_russian(
        folder: Path, both: Run) -> None:
    """The replay's difference (a school's figures) reads in each language, exit 7 alike."""
    with sqlite3.connect(folder / "rollout.db") as db:
        db.execute("INSERT INTO metrics (school_code, teachers, classes, parents, students, "
                   "updated_at) VALUES ('S1', 1, 2, 3, 4, '2026-09-01 07:00:00')")
    ru, en = both("audit", "verify")
    assert (ru.code, en.code) == (7, 7)
    assert ru.err.strip() == ("rollout: данные в базе не совпадают с историей: школа S1: в базе "
                              "показатели (педагоги 1, классы 2, родители 3, учащиеся 4), а в "
                              "истории их нет")
    assert en.err.strip() == ("rollout: the data in the database do not match the history: "
                              "school S1: figures in the database (teachers 1, classes 2, "
                              "parents 3, students 4), but none in the history")


def test_unassign_and_its_refusal_speak_russian(folder: Path, both: Run) -> None:
    """Nothing to withdraw (exit 6) names the role by its title; a withdrawal says so."""
    ru, en = both("unassign", "--role", "regional_coordinator", "--scope", "07", "--email",
                  "nobody@kbr.ru", "--as", "support@op.ru", "--at", AT)
    assert (ru.code, en.code) == (6, 6)
    assert ru.err.strip() == ("rollout: у nobody@kbr.ru нет роли «региональный координатор» "
                              "(регион 07): снимать нечего")
    assert en.err.strip() == ("rollout: nobody@kbr.ru does not hold the role regional "
                              "coordinator (region 07): nothing to withdraw")
    ru, _en = both("unassign", "--role", "regional_coordinator", "--scope", "07", "--email",
                   "rc@kbr.ru", "--as", "support@op.ru", "--at", AT)
    assert ru.code == 0
    assert ru.out.strip() == ("роль «региональный координатор» (регион 07) у rc@kbr.ru снята; "
                              "выполненные шаги остаются выполненными")


def test_status_names_the_roles_by_their_titles(folder: Path, both: Run) -> None:
    """`status` shows «Региональный координатор», not the slug; `--json` keeps the slug."""
    ru, en = both("status", "--region", "07")
    assert (ru.code, en.code) == (0, 0)
    assert "Региональный координатор: Иванов И.И. <rc@kbr.ru>" in ru.out
    assert "regional_coordinator" not in ru.out
    assert "Regional coordinator: Иванов И.И. <rc@kbr.ru>" in en.out
    assert '"role": "regional_coordinator"' in run_json(both, "status", "--region", "07")


def run_json(both: Run, *args: str) -> str:
    ru, en = both(*args, "--json")
    assert ru.out == en.out
    return ru.out


def test_import_errors_and_notices_speak_russian(folder: Path, both: Run) -> None:
    """A bad cell keeps FILE:ROW: column: and its problem is translated; the notice about an
    unused column too; exit 6 and 0 alike."""
    bad = write(folder / "bad.csv", [
        ["region", "code", "name", "inn", "teachers_expected", "classes_expected",
         "students_expected"],
        ["07", "S9", "МКОУ «СОШ № 9»", "7707083894", "10", "5", "7,5"]])
    ru, en = both("import", "schools", str(bad), "--at", AT)
    assert (ru.code, en.code) == (6, 6)
    assert ru.err.splitlines() == [
        "rollout: bad.csv:2: inn: 7707083894: неверная контрольная цифра ИНН (ожидалась 3 в "
        "конце); опечатка в номере?",
        "bad.csv:2: students_expected: '7,5': нужно целое число ≥ 0"]
    assert en.err.splitlines() == [
        "rollout: bad.csv:2: inn: 7707083894: wrong check digit of the ИНН (3 expected at the "
        "end); a typo in the number?",
        "bad.csv:2: students_expected: '7,5': a whole number ≥ 0 is needed"]
    extra = write(folder / "extra.csv", [["code", "name", "timezone", "Адрес"],
                                         ["07", "Кабардино-Балкарская Республика",
                                          "Europe/Moscow", "Нальчик"]])
    ru, en = both("import", "regions", str(extra), "--dry-run", "--at", AT)
    assert (ru.code, en.code) == (0, 0)
    assert "extra.csv: столбцы не используются и пропущены: Адрес" in ru.err
    assert "extra.csv: columns not used, left out: Адрес" in en.err


def test_mail_summaries_speak_russian_with_plural_forms(folder: Path, both: Run) -> None:
    """`remind --dry-run`, `outbox list` and `outbox send` in each language, counted in
    Russian plural forms."""
    late = "2026-10-20T10:00:00+03:00"  # step 1 long past its term
    ru, en = both("remind", "--dry-run", "--at", late)
    assert (ru.code, en.code) == (0, 0)
    assert ru.out.startswith("было бы поставлено в очередь: 1 напоминание и 0 эскалаций — "
                             "1 получателю по 2 просроченным пунктам; просрочено 2 шага"), ru.out
    assert en.out.startswith("would queue 1 reminder and 0 escalations to 1 recipient "
                             "covering 2 late items; 2 steps late"), en.out
    ru, en = both("outbox", "list")
    assert (ru.out.strip(), en.out.strip()) == ("очередь писем пуста", "the outbox is empty")
    assert run_remind(both, late).code == 0
    ru, en = both("outbox", "list")
    assert "в очереди" in ru.out and "0 попыток" in ru.out, ru.out
    assert "queued" in en.out and "0 attempts" in en.out
    ru, en = both("outbox", "send", "--at", late)
    assert (ru.code, en.code) == (0, 0)
    assert ru.out.strip() == "отправлено: 1, отложено: 0, не доставлено: 0"
    assert en.out.strip() == "sent 0, deferred 0, failed 0"


def run_remind(both: Run, at: str) -> Result:
    ru, _en = both("remind", "--at", at)  # the second pass finds the period already covered
    return ru


def test_a_configuration_error_speaks_russian(request: pytest.FixtureRequest, both: Run) -> None:
    """An unknown key and a bad number name the key in each language; exit 6 alike."""
    cwd: Path = request.getfixturevalue("home")
    (cwd / "config.yaml").write_text("mail: {transport: file, colour: red}\n", encoding="utf-8")
    ru, en = both("status", "--region", "07")
    assert (ru.code, en.code) == (6, 6)
    assert ru.err.startswith("rollout: config.yaml: mail.colour: неизвестный ключ (здесь "
                             "допустимы: "), ru.err
    assert en.err.startswith("rollout: config.yaml: mail.colour: unknown key (known here: ")
    (cwd / "config.yaml").write_text("reminders: {repeat_every_days: 0}\n", encoding="utf-8")
    ru, en = both("status", "--region", "07")
    assert (ru.code, en.code) == (6, 6)
    assert ru.err.strip() == ("rollout: config.yaml: reminders.repeat_every_days: ожидается "
                              "целое число от 1 до 250, а задано 0"), ru.err
    assert en.err.strip() == ("rollout: config.yaml: reminders.repeat_every_days: expected a "
                              "whole number between 1 and 250, got 0")
