"""The registry request in the operator's form: one row per change with an action column, as
an XLSX with Russian headers (the attachment of the `registry` letter and `reconcile --out`)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from storage import reconciliations
from storage.spreadsheets import safe_text

HEADERS = ("№", "Действие", "ИНН", "КПП", "ОГРН", "Полное наименование ОО",
           "Краткое наименование", "Муниципалитет", "Головная организация (для филиала)",
           "Код ОО в системе", "Комментарий")
WIDTHS = (5, 32, 13, 12, 16, 60, 30, 30, 45, 14, 50)
SHEET = "Заявка"
# A spreadsheet runs a cell that starts with one of these as a formula (CSV/XLSX injection).
ADD, REMOVE, RELINK_MUNICIPALITY = "добавить", "удалить", "привязать к муниципалитету"
RELINK_PARENT = "привязать к головной организации"
UNLINK_PARENT = "отвязать от головной организации"
CHANGE = "изменить сведения"


def _who(ref: dict[str, Any] | None) -> str:
    if not ref:
        return ""
    ids = "/".join(x for x in (ref.get("inn"), ref.get("kpp")) if x)
    return f"{ref['name']} ({ids})" if ids else str(ref["name"])


def _muni(ref: dict[str, Any] | None) -> str:
    return f"{ref['name']} ({ref['code']})" if ref else ""


def request_rows(items: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """The request's rows for the open changes of a reconciliation (unmatched rows are the
    coordinator's to resolve, accepted ones need no change: neither is requested)."""
    out = []
    for d in items:
        if d.get("status", reconciliations.OPEN) != reconciliations.OPEN:
            continue
        kind = d["kind"]
        row = {"inn": d.get("inn") or "", "kpp": d.get("kpp") or "", "ogrn": d.get("ogrn") or "",
               "name": d["name"], "short_name": d.get("short_name") or "", "municipality": "",
               "parent": "", "code": d.get("code") or "", "comment": ""}
        if kind == "add":
            row.update(action=ADD, municipality=_muni(d.get("municipality")),
                       parent=_who(d.get("parent")),
                       comment=f"строка {d['row']} списка региона" if d.get("row") else "")
        elif kind == "remove":
            row.update(action=REMOVE, comment="нет в списке региона (закрыта или реорганизована)")
        elif kind == "relink" and d["what"] == "municipality":
            row.update(action=RELINK_MUNICIPALITY, municipality=_muni(d["to"]),
                       comment=f"сейчас: {_muni(d['from']) or 'без муниципалитета'}")
        elif kind == "relink":
            row.update(action=RELINK_PARENT if d["to"] else UNLINK_PARENT,
                       parent=_who(d["to"]),
                       comment=f"сейчас: {_who(d['from']) or 'самостоятельная ОО'}")
        elif kind == "changed":
            changes = []
            for f, v in d["fields"].items():
                label = {"name": "наименование", "inn": "ИНН", "kpp": "КПП"}.get(f, f)
                changes.append(f"{label}: «{v['registry'] or '—'}» → «{v['list']}»")
            row.update(action=CHANGE, name=d.get("to_name") or d["name"],
                       comment="; ".join(changes))
        else:
            continue
        out.append(row)
    return out


def neutral(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (the project's one rule)."""
    return safe_text(value)


def write_xlsx(rows: Sequence[dict[str, str]]) -> bytes:
    """The request workbook. One function, so that the project's shared table writer can
    take its place when there is one."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has its first sheet
    sheet.title = SHEET
    sheet.append(list(HEADERS))
    keys = ("action", "inn", "kpp", "ogrn", "name", "short_name", "municipality", "parent",
            "code", "comment")
    for i, r in enumerate(rows, start=1):
        sheet.append([i] + [neutral(r.get(k, "")) for k in keys])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for letter_index, width in enumerate(WIDTHS):
        sheet.column_dimensions[chr(ord("A") + letter_index)].width = width
    for column in ("C", "D", "E", "J"):  # codes stay text: Excel would drop leading zeros
        for cell in sheet[column][1:]:
            cell.number_format = "@"
    sheet.freeze_panes = "A2"
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
