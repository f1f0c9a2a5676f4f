"""The comparison and the list's headers, pure: names normalised, headers recognised, matching
by ИНН+КПП then by name, branches and their main schools, ambiguity named."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow.reconcile import ListRow, RegistrySchool, compare, normalise
from workflow.reconcile.listfile import field_of

MUNIS = {"0701": "городской округ Нальчик", "0702": "Баксанский муниципальный район",
         "0703": "Чегемский муниципальный район"}


@pytest.mark.parametrize(("a", "b"), [
    ("МБОУ «Гимназия № 4»", 'мбоу "гимназия №4"'),
    ("МКОУ „СОШ № 1“ с. Чегем", "МКОУ «СОШ №1» с.Чегем"),
    ("Лицей им. А.С. Пушкина", "лицей им.А.С.Пушкина"),
    ("Школа-интернат № 2", "школа - интернат № 2"),
    ("МБОУ «Лицей № 2» г. Нальчик", "МБОУ  Лицей № 2  г. Нальчик"),
    ("ООШ с. Ёлкино", "ООШ с. Елкино"),
])
def test_names_that_are_the_same(a: str, b: str) -> None:
    """Case, quotes of every kind, «№ 4»/«№4», ё/е, spaces around dots and dashes don't count."""
    assert normalise(a) == normalise(b)


@pytest.mark.parametrize(("a", "b"), [
    ("МБОУ «СОШ № 1»", "МАОУ «СОШ № 1»"),  # a change of type is a real change
    ("МБОУ «СОШ № 1»", "МБОУ «СОШ № 11»"),
    ("МБОУ «Гимназия № 4»", "МБОУ «Гимназия»"),
])
def test_names_that_differ(a: str, b: str) -> None:
    """Abbreviations (МБОУ/МАОУ) and numbers are kept: these are different names."""
    assert normalise(a) != normalise(b)


@pytest.mark.parametrize(("header", "field"), [
    ("ИНН", "inn"), ("ИНН организации", "inn"), ("КПП", "kpp"), ("ОГРН", "ogrn"),
    ("Полное наименование ОО", "name"), ("Наименование", "name"),
    ("Краткое наименование", "short_name"), ("Сокращённое наименование", "short_name"),
    ("Муниципальное образование", "municipality"), ("Наименование муниципалитета", "municipality"),
    ("Головная организация (для филиалов)", "parent"), ("ИНН головной организации", "parent_inn"),
    ("КПП головной ОО", "parent_kpp"), ("Основная школа", "parent"), ("Код ОО", "code"),
    ("Адрес", None), ("Телефон", None), ("Основные сведения", None), ("№ п/п", None),
])
def test_headers_as_registries_title_them(header: str, field: str | None) -> None:
    """Russian headers are recognised by their words; unknown columns are left aside."""
    assert field_of(header) == field


def row(n: int, name: str, inn: str | None = None, kpp: str | None = None, **kw: str) -> ListRow:
    return ListRow(n, name, inn, kpp, **kw)


def test_same_name_in_two_municipalities_is_told_apart_by_the_list() -> None:
    """МКОУ «СОШ № 1» exists in two districts: the list's municipality decides the match."""
    registry = [RegistrySchool("A", "МКОУ «СОШ № 1»", municipality="0702"),
                RegistrySchool("B", "МКОУ «СОШ № 1»", municipality="0703")]
    r = compare([row(2, "МКОУ СОШ №1", municipality="Чегемский муниципальный район"),
                 row(3, "МКОУ СОШ №1", municipality="0702")], registry, MUNIS)
    assert r.items == [] and r.matched == 2


def test_same_name_without_a_municipality_is_unmatched_not_guessed() -> None:
    """A name that fits two registry schools, with nothing to tell them apart, is unmatched on
    both sides, never paired at random or removed."""
    registry = [RegistrySchool("A", "МКОУ «СОШ № 1»", municipality="0702"),
                RegistrySchool("B", "МКОУ «СОШ № 1»", municipality="0703")]
    r = compare([row(2, "МКОУ «СОШ № 1»")], registry, MUNIS)
    assert [(d["side"], d.get("code")) for d in r.unmatched] == [
        ("list", None), ("registry", "A"), ("registry", "B")]
    assert "A, B" in r.unmatched[0]["problem"] and r.remove == []


def test_different_inn_kpp_are_different_schools_whatever_the_names() -> None:
    """Same name, both sides with other ИНН/КПП: one to add and one to remove, not a match."""
    registry = [RegistrySchool("A", "МБОУ «СОШ № 2»", "0711000016", "071001001", "0702")]
    r = compare([row(2, "МБОУ «СОШ № 2»", "0711000024", "070801001", municipality="0703")],
                registry, MUNIS)
    assert [d["name"] for d in r.add] == ["МБОУ «СОШ № 2»"]
    assert [d["code"] for d in r.remove] == ["A"]


def test_branch_unlinked_and_new_branch_of_a_new_school() -> None:
    """A branch whose list row names no main school is unlinked from it; a new branch of a new
    school names that school (to be added) as its main one."""
    registry = [RegistrySchool("M", "МБОУ «СОШ № 3»", "0711000016", "072501001", "0701"),
                RegistrySchool("F", "Филиал МБОУ «СОШ № 3»", "0711000016", "072502001", "0701",
                               parent="M")]
    r = compare([row(2, "МБОУ «СОШ № 3»", "0711000016", "072501001"),
                 row(3, "Филиал МБОУ «СОШ № 3»", "0711000016", "072502001", parent=""),
                 row(4, "МБОУ «СОШ № 9»", "0711000024", "072501001"),
                 row(5, "Филиал МБОУ «СОШ № 9»", "0711000024", "072502001",
                     parent="МБОУ «СОШ № 9»")], registry, MUNIS)
    assert [(d["code"], d["what"], d["to"]) for d in r.relink] == [("F", "parent", None)]
    assert [(d["name"], (d["parent"] or {}).get("name")) for d in r.add] == [
        ("МБОУ «СОШ № 9»", None), ("Филиал МБОУ «СОШ № 9»", "МБОУ «СОШ № 9»")]


def test_duplicate_rows_and_unknown_main_school_are_unmatched() -> None:
    """The same ИНН+КПП twice in the list, or a main school found nowhere: unmatched rows."""
    registry = [RegistrySchool("M", "МБОУ «СОШ № 3»", "0711000016", "072501001", "0701")]
    r = compare([row(2, "МБОУ «СОШ № 3»", "0711000016", "072501001"),
                 row(3, "МБОУ «СОШ № 3» (копия)", "0711000016", "072501001"),
                 row(4, "Филиал", "0711000016", "072509001", parent="Гимназия № 99")],
                registry, MUNIS)
    problems = [(d["row"], d["problem"]) for d in r.unmatched]
    assert problems == [
        (3, "ИНН 0711000016 и КПП 072501001 уже есть в строке 2 списка"),
        (4, "головная организация «Гимназия № 99» не найдена ни в списке, ни в реестре")]
    assert r.add == [] and r.remove == []


def test_a_list_far_too_long_is_refused_naming_the_row(tmp_path: Path) -> None:
    """A file of 20,001 schools is not one region's list: refused at the row past the cap."""
    from workflow.errors import InvalidInput
    from workflow.reconcile import read_list
    from workflow.reconcile.listfile import MAX_ROWS

    path = tmp_path / "huge.csv"
    path.write_text("Наименование\n" + "".join(f"Школа {i}\n" for i in range(MAX_ROWS + 1)),
                    encoding="utf-8")
    with pytest.raises(InvalidInput, match=f"huge.csv:{MAX_ROWS + 2}: more than {MAX_ROWS} rows"):
        read_list(path)
    path.write_text("Наименование\n" + "".join(f"Школа {i}\n" for i in range(MAX_ROWS)),
                    encoding="utf-8")
    assert len(read_list(path).rows) == MAX_ROWS


def test_a_list_without_kpp_matches_by_a_unique_inn() -> None:
    """A list with ИНН but no КПП: a school whose ИНН is unique matches by it (a new name is a
    change); a main school and its branch, sharing one ИНН, fall back to their names."""
    registry = [RegistrySchool("A", "МБОУ «СОШ № 2»", "0711000016", "071001001", "0702"),
                RegistrySchool("M", "МБОУ «СОШ № 3»", "0711000024", "072501001", "0701"),
                RegistrySchool("F", "Филиал МБОУ «СОШ № 3»", "0711000024", "072502001", "0701",
                               parent="M")]
    r = compare([row(2, "МБОУ «СОШ № 2 им. Героя»", "0711000016"),
                 row(3, "МБОУ «СОШ № 3»", "0711000024"),
                 row(4, "Филиал МБОУ «СОШ № 3»", "0711000024", parent="МБОУ «СОШ № 3»")],
                registry, MUNIS)
    assert r.matched == 3 and (r.add, r.remove, r.relink) == ([], [], [])
    assert [(d["code"], list(d["fields"])) for d in r.changed] == [("A", ["name"])]
