"""Letters from the command line: recipients shown, placeholder warnings, people's details."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cli import run
from tests.mailkit import new_db, seed


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = new_db(tmp_path)
    seed(db, schools_n=2)
    db.dispose()
    (tmp_path / "config.yaml").write_text(
        f"database: {{url: sqlite:///{tmp_path / 'rollout.db'}}}\nmail: {{dir: mail}}\n",
        encoding="utf-8")
    monkeypatch.setenv("ROLLOUT_CONFIG", str(tmp_path / "config.yaml"))
    return tmp_path


def test_letter_shows_copy_and_reply_to_and_warns_of_placeholders(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`letter` prints Cc and Reply-To (the coordinator); a placeholder support address warns."""
    shown = run(capsys, "letter", "coordinator", "--region", "77")
    assert shown.code == 0
    assert "Cc: rc@example.org\nReply-To: rc@example.org\n" in shown.out
    assert "Subject: Заявка на подключение регионального координатора от Москвы" in shown.out
    assert shown.err == ""  # the operator's address is the real one from the instruction
    unreconciled = run(capsys, "letter", "registry", "--region", "77")
    assert unreconciled.code == 6 and "the registry has not been reconciled yet" in unreconciled.err
    from workflow import config
    from workflow.reconcile.service import sample_list
    from workflow.services import Services

    services = Services(config.load(home / "config.yaml"))
    sample_list(services, "77", home / "list.xlsx")
    services.db.dispose()
    assert run(capsys, "reconcile", "--region", "77", str(home / "list.xlsx")).code == 0
    registry = run(capsys, "letter", "registry", "--region", "77")
    assert registry.code == 0, registry.err
    assert "support.email = support@example.org" in registry.err


def test_people_details_from_import_and_assign_sign_the_letters(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Должность, Организация, Телефон from a people file, or `assign --organisation`, end up in
    the signature; a person without them signs with initials only."""
    people = home / "people.csv"
    people.write_text("Эл. почта;ФИО;Роль;Область;Должность;Организация;Телефон\n"
                      "rc@example.org;Иванова Анна Сергеевна;региональный координатор;77;"
                      "начальник отдела;Департамент образования города Москвы;+7 495 1\n",
                      encoding="cp1251")
    assert run(capsys, "import", "people", str(people)).code == 0
    shown = run(capsys, "letter", "coordinator", "--region", "77").out
    assert "С уважением,\nНачальник отдела Департамента образования города Москвы\n" \
           "А.С. Иванова\nrc@example.org, тел. +7 495 1\n" in shown
    assigned = run(capsys, "assign", "--role", "municipal_coordinator", "--scope", "M1",
                   "--email", "mk2@example.org", "--name", "Жигунов Руслан Асланович",
                   "--position", "главный специалист", "--organisation",
                   "Управление образования", "--as", "rc@example.org",
                   "--at", "2026-03-03T10:00:00+03:00")
    assert assigned.code == 0, assigned.err
    from sqlalchemy import select

    from storage import Database
    from storage.models import people as table

    db = Database(f"sqlite:///{home / 'rollout.db'}")
    with db.read() as conn:
        row = conn.execute(select(table).where(table.c.email == "mk2@example.org")).one()
    db.dispose()
    assert (row.position, row.organisation) == ("главный специалист", "Управление образования")


def test_no_registry_request_with_an_empty_list(home: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A region without a reconciliation (so without a list of changes) gets a clear refusal
    (exit 6), and nothing is queued."""
    regions = home / "regions.csv"
    regions.write_text("Код;Наименование\n66;Свердловская область\n", encoding="utf-8-sig")
    people = home / "people.csv"
    people.write_text("Эл. почта;ФИО;Роль;Область\nrc66@example.org;Белова Марина Сергеевна;"
                      "региональный координатор;66\n", encoding="utf-8-sig")
    assert run(capsys, "import", "regions", str(regions)).code == 0
    assert run(capsys, "import", "people", str(people)).code == 0
    refused = run(capsys, "letter", "registry", "--region", "66", "--send", "--as",
                  "rc66@example.org")
    assert refused.code == 6
    assert "the registry has not been reconciled yet" in refused.err
    assert run(capsys, "outbox", "list", "--json").out.strip() == "[]"
