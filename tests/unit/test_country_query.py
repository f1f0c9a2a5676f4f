"""The country table's query string: parsed leniently, written back without defaults."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from web.lateness import RegionLate
from web.tables import CountryQuery


def row(code: str, name: str, late: int, days: int, district: str = "ЦФО",
        tz: str = "Europe/Moscow", state: str = "admins") -> dict[str, Any]:
    return {"code": code, "name": name, "district": district, "timezone": tz, "state": state,
            "schools": 10, "progress": 50, "broken_contacts": 0,
            "lateness": RegionLate(schools=10, schools_late=late, worst_days=days,
                                   worst_step="admins" if days else None)}


ROWS = [row("01", "Республика Адыгея", 3, 10, "ЮФО"), row("50", "Московская область", 3, 20),
        row("57", "Орловская область", 0, 0), row("14", "Республика Саха (Якутия)", 5, 2,
                                                    "ДФО", "Asia/Yakutsk")]


def codes(query: dict[str, str]) -> list[str]:
    return [r["code"] for r in CountryQuery.parse(query).apply(ROWS)]


def test_worst_first_by_default_then_by_days_then_code() -> None:
    assert codes({}) == ["14", "50", "01", "57"]
    assert codes({"sort": "late", "dir": "asc"}) == ["57", "01", "50", "14"]
    assert codes({"sort": "days"}) == ["50", "01", "14", "57"]
    assert codes({"sort": "name"}) == ["50", "57", "01", "14"]


def test_filters_and_search() -> None:
    assert codes({"district": "ЦФО"}) == ["50", "57"]
    assert codes({"tz": "Asia/Yakutsk"}) == ["14"]
    assert codes({"late": "1"}) == ["14", "50", "01"]
    assert codes({"q": "ОРЛОВСКАЯ"}) == ["57"]
    assert codes({"q": "якутия"}) == ["14"]
    assert codes({"q": "01"}) == ["01"]
    assert CountryQuery.parse({"q": "школа"}).apply(ROWS, found={"57"})[0]["code"] == "57"


def test_unknown_values_fall_back_to_the_defaults() -> None:
    q = CountryQuery.parse({"sort": "drop table", "dir": "sideways", "district": "XX",
                            "step": "nope", "map": "weird"})
    assert q == CountryQuery()
    assert q.query() == ""


def test_links_keep_the_filters_and_flip_the_current_column() -> None:
    q = CountryQuery.parse({"district": "ЦФО", "late": "1", "sort": "name"})
    assert "district=%D0%A6%D0%A4%D0%9E" in q.sort_query("schools")
    assert "late=1" in q.sort_query("schools") and "sort=schools&dir=desc" in q.sort_query(
        "schools")
    assert "sort=name&dir=desc" in q.sort_query("name")  # name was ascending: flip it
    assert CountryQuery.parse(dict(parse_qsl(q.query()[1:]))) == q  # the link is the state
    assert q.query(district="", late=False) == "?sort=name&dir=asc"
