"""`rollout reconcile` as a coordinator runs it: the table, --json, --out, --accept, step 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.e2e.cli import run
from tests.e2e.test_cli import AT, home, loaded, write  # noqa: F401 - fixtures used by name
from tests.reconcile_kit import inn


@pytest.fixture
def connected(request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]) -> Path:
    """Region 07 (МКОУ «СОШ № 1» with an ИНН, МКОУ «СОШ № 2») with its coordinator connected."""
    folder: Path = request.getfixturevalue("loaded")
    assert run(capsys, "advance", "--region", "07", "--step", "coordinator", "--as",
               "support@op.ru", "--at", AT).code == 0
    return folder


def region_list(folder: Path) -> Path:
    """The coordinator's list: СОШ № 1 as in the registry (quotes and № spacing aside), СОШ № 2
    closed, a new СОШ № 3."""
    return write(folder / "список.csv", [
        ["ИНН", "КПП", "Полное наименование", "Муниципалитет"],
        ["7707083893", "", 'МКОУ "СОШ №1"', ""],
        [inn(3), "070101001", "МКОУ «СОШ № 3»", ""]], encoding="cp1251", delimiter=";")


def test_reconcile_prints_json_writes_the_request_and_opens_step_2_after_accept(
        connected: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json has the contract's keys; --out writes the request; step 2 is refused (exit 3)
    naming what is open, accepted with a reason, then done."""
    refused = run(capsys, "advance", "--region", "07", "--step", "registry", "--as", "rc@kbr.ru",
                  "--at", AT)
    assert refused.code == 3 and "has not been reconciled" in refused.err
    r = run(capsys, "reconcile", "--region", "07", str(region_list(connected)), "--json",
            "--out", "заявка.xlsx", "--as", "rc@kbr.ru", "--at", AT)
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert [(d["name"], d["inn"], d["kpp"]) for d in data["add"]] == [
        ("МКОУ «СОШ № 3»", inn(3), "070101001")]
    assert [(d["code"], d["name"]) for d in data["remove"]] == [("S2", "МКОУ «СОШ № 2»")]
    assert (data["relink"], data["unmatched"], data["open"]) == ([], [], 2)
    assert data["request"] == {"file": "заявка.xlsx", "rows": 2}
    sheet = load_workbook(connected / "заявка.xlsx").active
    assert sheet is not None
    assert [(row[1], row[5]) for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        ("добавить", "МКОУ «СОШ № 3»"), ("удалить", "МКОУ «СОШ № 2»")]
    still = run(capsys, "advance", "--region", "07", "--step", "registry", "--as", "rc@kbr.ru",
                "--at", AT)
    assert still.code == 3 and "2 discrepancies open: add 1, remove 1" in still.err
    assert run(capsys, "reconcile", "--region", "07", "--accept", "--as", "rc@kbr.ru",
               "--at", AT).code == 2  # a reason is required
    assert run(capsys, "reconcile", "--region", "07", "--accept", "--reason", "да",
               "--as", "audit@op.ru", "--at", AT).code == 4
    ok = run(capsys, "reconcile", "--region", "07", "--accept", "--reason",
             "СОШ № 2 закрыта, СОШ № 3 внесёт СТП по заявке", "--as", "rc@kbr.ru", "--at", AT)
    assert ok.code == 0 and "2 discrepancies" in ok.out
    done = run(capsys, "advance", "--region", "07", "--step", "registry", "--as", "rc@kbr.ru",
               "--at", AT)
    assert done.code == 0 and "state is now municipalities" in done.out
    log = json.loads(run(capsys, "audit", "log", "--region", "07", "--json").out)
    assert [e["event"] for e in log if e["event"].startswith("Registry")] == [
        "RegistryReconciled", "RegistryDiscrepanciesAccepted"]


@pytest.mark.usefixtures("russian")
def test_reconcile_table_in_russian(connected: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --json the result is a Russian table, each kind under its own title."""
    r = run(capsys, "reconcile", "--region", "07", str(region_list(connected)), "--at", AT)
    assert r.code == 0, r.err
    assert "совпало 1; добавить 1, удалить 1" in r.out
    assert "Добавить (есть в списке региона, нет в реестре)" in r.out
    assert "Удалить (есть в реестре, нет в списке региона)" in r.out
    assert "Открыто расхождений: 2" in r.out


@pytest.mark.usefixtures("russian")
def test_reconcile_usage_and_input_errors(connected: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    """No file: usage (2); an unknown region or a file without a header: invalid input (6);
    --entered by someone other than support: refused (4)."""
    assert run(capsys, "reconcile", "--region", "07").code == 2
    assert run(capsys, "reconcile", "--region", "99", str(region_list(connected))).code == 6
    bad = write(connected / "bad.csv", [["Адрес"], ["г. Нальчик"]])
    r = run(capsys, "reconcile", "--region", "07", str(bad))
    assert r.code == 6 and "не найдена строка заголовка" in r.err
    assert run(capsys, "reconcile", "--region", "07", str(region_list(connected)),
               "--at", AT).code == 0
    assert run(capsys, "reconcile", "--region", "07", "--entered", "--as", "rc@kbr.ru",
               "--at", AT).code == 4
    entered = run(capsys, "reconcile", "--region", "07", "--entered", "--as", "support@op.ru",
                  "--at", AT)
    assert entered.code == 0 and "отмечена как внесённая в реестр" in entered.out
