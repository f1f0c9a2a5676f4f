"""Step 2's registry reconciliation on files as coordinators have them, its record and its guard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from storage import history, reconciliations
from tests.builders import SUPPORT, World
from tests.reconcile_kit import RC, REGION_LIST, cp1251_csv, inn, merged_xlsx, ogrn, registry
from workflow.errors import GuardRefused, InvalidInput, PermissionDenied
from workflow.reconcile import accept, reconcile, reconcile_as_registered, request_xlsx


def _codes(items: list[dict[str, Any]]) -> list[str | None]:
    return [d.get("code") for d in items]


def _connected(world: World) -> World:
    registry(world)
    world.services.advance("region", "07", "coordinator", SUPPORT, world.now)
    return world


def test_cp1251_list_gives_the_right_add_remove_relink_rows(world: World, tmp_path: Path
                                                             ) -> None:
    """A Windows-1251 list with `;`: the moved, closed, renamed and new schools and branches
    come out as one discrepancy each, the misspelt municipality as unmatched."""
    registry(world)
    done = reconcile(world.services, "07", cp1251_csv(tmp_path / "список.csv", REGION_LIST),
                     world.now, RC)
    r = done.result
    assert [(d["name"], d["municipality"]["code"], (d["parent"] or {}).get("name"))
            for d in r.add] == [
        ("МКОУ «СОШ № 5» с. Чегем", "0703", None),
        ("Филиал МКОУ «СОШ № 5» в с. Нартан", "0703", "МКОУ «СОШ № 5» с. Чегем")]
    assert _codes(r.remove) == ["070103"]  # closed: in the registry, not in the list
    assert [(d["code"], d["what"], d["from"]["code"], d["to"]["code"]) for d in r.relink] == [
        ("070102", "municipality", "0702", "0703")]
    assert [(d["code"], sorted(d["fields"])) for d in r.changed] == [
        ("070104", ["name"]), ("070106", ["inn", "kpp"])]
    assert r.changed[0]["fields"]["name"]["list"] == "МБОУ «Лицей № 2 имени А.А. Котляровой»"
    assert [(d["side"], d["row"], d["inn"]) for d in r.unmatched] == [("list", 9, inn(9))]
    assert "Баксанский р-н" in r.unmatched[0]["problem"]
    # the main school matched by its short name, its branch by ИНН+КПП: neither is a change
    assert r.matched == 5 and done.open == 7


def test_reconciliation_is_recorded_with_its_figures(world: World, tmp_path: Path) -> None:
    """The reconciliation is stored with each discrepancy open, and history has its figures."""
    registry(world)
    done = reconcile(world.services, "07", cp1251_csv(tmp_path / "l.csv", REGION_LIST),
                     world.now, RC)
    with world.services.db.read() as conn:
        row = reconciliations.last(conn, "07")
        log = history.machine_log(conn, "region", "07")
    assert row is not None and row["id"] == done.number and row["actor"] == RC
    assert row["counts"] == {"add": 2, "remove": 1, "relink": 1, "changed": 2, "unmatched": 1,
                             "matched": 5}
    assert {d["status"] for d in row["discrepancies"]} == {"open"}
    event = log[-1]
    assert (event["event"], event["step"], event["actor"], event["role"]) == (
        "RegistryReconciled", "registry", RC, "regional_coordinator")
    assert event["data"]["open"] == 7 and event["data"]["counts"]["add"] == 2


def test_merged_header_xlsx_with_extra_columns_and_number_cells(world: World, tmp_path: Path
                                                                ) -> None:
    """An XLSX with a title and group headers merged above the real header, address and phone
    columns, ИНН typed as numbers (leading zero lost): read right; a branch moved to another
    main school is a re-link, a municipality given by its code is understood."""
    registry(world)
    rows: list[list[Any]] = [
        [1, int(inn(1)), 72501001, int(ogrn(11)), "МБОУ «Гимназия № 4»", "", "0701", "",
         "г. Нальчик, ул. Ленина, 1", "+7 8662 00-00-01"],
        [2, int(inn(2)), 71001001, None, "МКОУ «СОШ № 1» с.п. Кишпек", "",
         "Баксанский муниципальный район", "", "с.п. Кишпек", ""],
        [3, int(inn(3)), 71001001, None, "МКОУ «СОШ № 3» с. Исламей", "",
         "Баксанский муниципальный район", "", "", ""],
        [4, int(inn(4)), 72501001, None, "МОУ «ЛИЦЕЙ №2»", "", "городской округ Нальчик", "",
         "", ""],
        [5, int(inn(1)), 72502001, None, "Филиал МБОУ «Гимназия № 4» в с. Хасанья", "",
         "городской округ Нальчик", inn(4) + "/072501001", "", ""],
        [6, None, None, None, "МКОУ «СОШ № 1» с. Чегем", "", "Чегемский муниципальный район",
         "", "", ""],
    ]
    done = reconcile(world.services, "07", merged_xlsx(tmp_path / "реестр.xlsx", rows),
                     world.now, RC)
    r = done.result
    assert (r.add, r.remove, r.changed, r.unmatched) == ([], [], [], [])
    assert [(d["code"], d["what"], d["from"]["code"], d["to"]["code"]) for d in r.relink] == [
        ("070105", "parent", "070101", "070104")]
    assert r.matched == 6


def test_xlsx_request_opens_with_the_expected_cells(world: World, tmp_path: Path) -> None:
    """The request in the operator's form: Russian headers, one row per change with its action;
    codes kept as text, a formula-leading name neutralised."""
    registry(world)
    rows = REGION_LIST + [["9", inn(10), "070101001", "", "=HYPERLINK(\"x\")", "",
                           "городской округ Нальчик", ""]]
    done = reconcile(world.services, "07", cp1251_csv(tmp_path / "l.csv", rows), world.now)
    out = tmp_path / "заявка.xlsx"
    out.write_bytes(request_xlsx(done.result.items))
    sheet = load_workbook(out).active
    assert sheet is not None
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0][:4] == ["№", "Действие", "ИНН", "КПП"]
    actions = [(r[1], r[9] or r[2]) for r in cells[1:]]
    assert actions == [
        ("добавить", inn(7)), ("добавить", inn(7)), ("добавить", inn(10)),
        ("удалить", "070103"), ("привязать к муниципалитету", "070102"),
        ("изменить сведения", "070104"), ("изменить сведения", "070106")]
    assert cells[3][5] == "'=HYPERLINK(\"x\")"
    assert cells[5][7] == "Чегемский муниципальный район (0703)"
    assert cells[2][8] == f"МКОУ «СОШ № 5» с. Чегем ({inn(7)}/070801001)"
    assert cells[6][5] == "МБОУ «Лицей № 2 имени А.А. Котляровой»"  # the name to write
    assert cells[1][2] == inn(7) and sheet["C2"].number_format == "@"


def test_step_2_refused_until_the_discrepancies_are_accepted(world: World, tmp_path: Path
                                                              ) -> None:
    """Step 2: refused without a reconciliation and while one is open, with the figures;
    allowed once the coordinator accepts them with a reason."""
    _connected(world)
    s = world.services
    with pytest.raises(GuardRefused) as never:
        s.advance("region", "07", "registry", RC, world.now)
    assert never.value.verdict.message_ru == (
        "сверка реестра не проводилась")
    reconcile(s, "07", cp1251_csv(tmp_path / "l.csv", REGION_LIST), world.now, RC)
    with pytest.raises(GuardRefused) as still:
        s.advance("region", "07", "registry", RC, world.now)
    assert still.value.verdict.message_ru == (
        "сверка реестра: не решено 7 расхождений: добавить 2, удалить 1, привязать 1, "
        "изменить сведения 2, не сопоставлено 1")
    assert s.status("region", "07")["blocking"][0]["code"] == "discrepancies_open"
    with pytest.raises(PermissionDenied):
        accept(s, "07", "так и есть", "pm@nowhere.ru", world.now)
    assert "7 discrepancies" in accept(s, "07", "школа закрыта приказом от 01.09; СОШ № 5 "
                                       "внесёт СТП", RC, world.tick(hours=1))
    assert s.advance("region", "07", "registry", RC, world.now).state == "municipalities"
    with s.db.read() as conn:
        log = [e["event"] for e in history.machine_log(conn, "region", "07")]
    assert log[-6:] == ["StepRefused", "RegistryReconciled", "StepRefused", "ActionDenied",
                        "RegistryDiscrepanciesAccepted", "StepCompleted"]


def test_a_clean_reconciliation_resolves_the_open_one(world: World, tmp_path: Path) -> None:
    """After the registry is put right, a new reconciliation that finds nothing opens step 2;
    one that finds a difference closes it again."""
    _connected(world)
    s = world.services
    reconcile(s, "07", cp1251_csv(tmp_path / "l.csv", REGION_LIST), world.now, RC)
    done = reconcile_as_registered(s, "07", world.tick(days=1))
    assert done.open == 0
    assert s.status("region", "07")["blocking"][0]["code"] == "awaits_owner"
    reconcile(s, "07", cp1251_csv(tmp_path / "l2.csv", REGION_LIST[:1]), world.tick(days=1))
    with pytest.raises(GuardRefused, match="discrepancies open"):
        s.advance("region", "07", "registry", RC, world.now)


@pytest.mark.usefixtures("russian")
def test_a_bad_list_names_rows_and_records_nothing(world: World, tmp_path: Path) -> None:
    """A list without a header, or with a bad ИНН, is refused naming the row; nothing recorded."""
    registry(world)
    bad = [r[:] for r in REGION_LIST[:3]]
    bad[1][1] = "07110000"
    bad[2][4] = bad[2][5] = ""
    with pytest.raises(InvalidInput) as caught:
        reconcile(world.services, "07", cp1251_csv(tmp_path / "bad.csv", bad), world.now)
    assert caught.value.problems == [
        "bad.csv:3: ИНН: ожидается 10 цифр, в ячейке «07110000»",
        "bad.csv:4: наименование: пусто, а строка не пустая"]
    no_header = cp1251_csv(tmp_path / "x.csv", [["1", "2"]], header=["Адрес", "Телефон"])
    with pytest.raises(InvalidInput, match="не найдена строка заголовка"):
        reconcile(world.services, "07", no_header, world.now)
    with world.services.db.read() as conn:
        assert reconciliations.last(conn, "07") is None


def test_registry_letter_attaches_the_request_and_is_never_empty(world: World, tmp_path: Path
                                                                 ) -> None:
    """The registry request letter carries the XLSX request (it survives the outbox and opens
    in openpyxl); with nothing to change there is no letter at all."""
    from io import BytesIO

    from sqlalchemy import select

    from notifications.message import build
    from storage.outbox import outbox
    from workflow import mail
    from workflow.errors import InvalidInput as Invalid

    registry(world)
    s = world.services
    reconcile_as_registered(s, "07", world.now)
    with pytest.raises(Invalid, match="found nothing to change"):
        mail.queue_letter(s, "registry", "07", world.now, RC)
    reconcile(s, "07", cp1251_csv(tmp_path / "l.csv", REGION_LIST), world.now, RC)
    mail.queue_letter(s, "registry", "07", world.now, RC)
    with s.db.read() as conn:
        row = conn.execute(select(outbox)).one()._mapping
    message = build(row)
    assert "- удалить: МКОУ «СОШ № 3» с. Исламей" in message.get_body(("plain",)).get_content()
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "registry-request-07-2.xlsx"
    sheet = load_workbook(BytesIO(attachment.get_payload(decode=True))).active
    assert sheet is not None
    assert [r[1] for r in sheet.iter_rows(min_row=2, values_only=True)] == [
        "добавить", "добавить", "удалить", "привязать к муниципалитету", "изменить сведения",
        "изменить сведения"]
