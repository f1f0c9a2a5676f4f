"""A deterministic synthetic national dataset: 89 regions, 2,600 municipalities, 45,000 schools.

The benchmarks (engine, mail, dashboard) share it. The API is small:

    paths = write_dataset(out_dir, seed=1, scale=1.0)   # CSV import files, by kind
    loaded = load_dataset(services, paths, now)          # imports them through import_file
    walk_regions(services, now)                          # steps 1-3 for every region

`write_dataset` writes `regions.csv`, `municipalities.csv`, `schools.csv`, `people.csv`,
`metrics.csv` (UTF-8, `,`) and `manifest.json` (counts and the seed) into `out_dir` and returns
their paths by kind (`"manifest"` for the last). The same seed and scale give the same bytes.

What is in it:
- regions: the 89 subjects with their real codes ("01".."79", "83", "86", "87", "89",
  "90".."95"), Russian names and IANA time zones from Europe/Kaliningrad to Asia/Kamchatka;
- municipalities: 2,600, spread like the schools (at least 2 per region); Якутия's carry their
  own zones (+9 to +11);
- schools: 45,000 schools and branches, from a few dozen per region to ~1,500 (Дагестан);
  ~10 % are branches of a main school of the same municipality, sharing its INN with their own
  KPP; every INN is a valid 10-digit legal-entity INN (check digit), every KPP 9 characters;
- people: support (3), program managers (4), auditors (2), one regional coordinator per region,
  one municipal coordinator per municipality, one school admin per school. Their e-mails follow
  `support_email`, `coordinator_email`, `municipal_email`, `admin_email`;
- metrics: counts observed on the platform: ~85 % of schools have everything loaded (steps 5-8
  complete by themselves once a school reaches them), the rest fall short at one of those steps.

`scale` multiplies the municipalities and schools (and, below 0.2, the regions: an even spread
of them is kept); every region keeps at least 2 municipalities and 3 schools.
"""

from __future__ import annotations

import csv
import json
import math
import random
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

KINDS = ("regions", "municipalities", "schools", "people", "metrics")
REGISTRY_KINDS = ("regions", "municipalities", "schools", "people")
SCHOOLS = 45_000
MUNICIPALITIES = 2_600
BRANCH_SHARE = 0.10
COMPLETE_SHARE = 0.85
INN_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)

# code, name, time zone, weight (roughly the region's share of schools)
REGIONS: tuple[tuple[str, str, str, int], ...] = (
    ("01", "Республика Адыгея", "Europe/Moscow", 150),
    ("02", "Республика Башкортостан", "Asia/Yekaterinburg", 1350),
    ("03", "Республика Бурятия", "Asia/Irkutsk", 480),
    ("04", "Республика Алтай", "Asia/Barnaul", 180),
    ("05", "Республика Дагестан", "Europe/Moscow", 1450),
    ("06", "Республика Ингушетия", "Europe/Moscow", 130),
    ("07", "Кабардино-Балкарская Республика", "Europe/Moscow", 300),
    ("08", "Республика Калмыкия", "Europe/Moscow", 150),
    ("09", "Карачаево-Черкесская Республика", "Europe/Moscow", 190),
    ("10", "Республика Карелия", "Europe/Moscow", 200),
    ("11", "Республика Коми", "Europe/Moscow", 350),
    ("12", "Республика Марий Эл", "Europe/Moscow", 300),
    ("13", "Республика Мордовия", "Europe/Moscow", 330),
    ("14", "Республика Саха (Якутия)", "Asia/Yakutsk", 680),
    ("15", "Республика Северная Осетия — Алания", "Europe/Moscow", 220),
    ("16", "Республика Татарстан", "Europe/Moscow", 1300),
    ("17", "Республика Тыва", "Asia/Krasnoyarsk", 180),
    ("18", "Удмуртская Республика", "Europe/Samara", 650),
    ("19", "Республика Хакасия", "Asia/Krasnoyarsk", 220),
    ("20", "Чеченская Республика", "Europe/Moscow", 500),
    ("21", "Чувашская Республика", "Europe/Moscow", 420),
    ("22", "Алтайский край", "Asia/Barnaul", 1050),
    ("23", "Краснодарский край", "Europe/Moscow", 1200),
    ("24", "Красноярский край", "Asia/Krasnoyarsk", 1000),
    ("25", "Приморский край", "Asia/Vladivostok", 500),
    ("26", "Ставропольский край", "Europe/Moscow", 650),
    ("27", "Хабаровский край", "Asia/Vladivostok", 400),
    ("28", "Амурская область", "Asia/Yakutsk", 300),
    ("29", "Архангельская область", "Europe/Moscow", 450),
    ("30", "Астраханская область", "Europe/Astrakhan", 280),
    ("31", "Белгородская область", "Europe/Moscow", 550),
    ("32", "Брянская область", "Europe/Moscow", 550),
    ("33", "Владимирская область", "Europe/Moscow", 450),
    ("34", "Волгоградская область", "Europe/Volgograd", 900),
    ("35", "Вологодская область", "Europe/Moscow", 400),
    ("36", "Воронежская область", "Europe/Moscow", 850),
    ("37", "Ивановская область", "Europe/Moscow", 300),
    ("38", "Иркутская область", "Asia/Irkutsk", 900),
    ("39", "Калининградская область", "Europe/Kaliningrad", 250),
    ("40", "Калужская область", "Europe/Moscow", 350),
    ("41", "Камчатский край", "Asia/Kamchatka", 120),
    ("42", "Кемеровская область — Кузбасс", "Asia/Novokuznetsk", 650),
    ("43", "Кировская область", "Europe/Kirov", 550),
    ("44", "Костромская область", "Europe/Moscow", 300),
    ("45", "Курганская область", "Asia/Yekaterinburg", 450),
    ("46", "Курская область", "Europe/Moscow", 550),
    ("47", "Ленинградская область", "Europe/Moscow", 400),
    ("48", "Липецкая область", "Europe/Moscow", 300),
    ("49", "Магаданская область", "Asia/Magadan", 60),
    ("50", "Московская область", "Europe/Moscow", 1400),
    ("51", "Мурманская область", "Europe/Moscow", 180),
    ("52", "Нижегородская область", "Europe/Moscow", 1000),
    ("53", "Новгородская область", "Europe/Moscow", 200),
    ("54", "Новосибирская область", "Asia/Novosibirsk", 1000),
    ("55", "Омская область", "Asia/Omsk", 850),
    ("56", "Оренбургская область", "Asia/Yekaterinburg", 900),
    ("57", "Орловская область", "Europe/Moscow", 300),
    ("58", "Пензенская область", "Europe/Moscow", 500),
    ("59", "Пермский край", "Asia/Yekaterinburg", 800),
    ("60", "Псковская область", "Europe/Moscow", 250),
    ("61", "Ростовская область", "Europe/Moscow", 1100),
    ("62", "Рязанская область", "Europe/Moscow", 400),
    ("63", "Самарская область", "Europe/Samara", 700),
    ("64", "Саратовская область", "Europe/Saratov", 800),
    ("65", "Сахалинская область", "Asia/Sakhalin", 150),
    ("66", "Свердловская область", "Asia/Yekaterinburg", 1000),
    ("67", "Смоленская область", "Europe/Moscow", 300),
    ("68", "Тамбовская область", "Europe/Moscow", 300),
    ("69", "Тверская область", "Europe/Moscow", 450),
    ("70", "Томская область", "Asia/Tomsk", 330),
    ("71", "Тульская область", "Europe/Moscow", 450),
    ("72", "Тюменская область", "Asia/Yekaterinburg", 550),
    ("73", "Ульяновская область", "Europe/Ulyanovsk", 450),
    ("74", "Челябинская область", "Asia/Yekaterinburg", 950),
    ("75", "Забайкальский край", "Asia/Chita", 550),
    ("76", "Ярославская область", "Europe/Moscow", 350),
    ("77", "Москва", "Europe/Moscow", 1400),
    ("78", "Санкт-Петербург", "Europe/Moscow", 750),
    ("79", "Еврейская автономная область", "Asia/Vladivostok", 60),
    ("83", "Ненецкий автономный округ", "Europe/Moscow", 40),
    ("86", "Ханты-Мансийский автономный округ — Югра", "Asia/Yekaterinburg", 300),
    ("87", "Чукотский автономный округ", "Asia/Anadyr", 50),
    ("89", "Ямало-Ненецкий автономный округ", "Asia/Yekaterinburg", 150),
    ("90", "Запорожская область", "Europe/Moscow", 250),
    ("91", "Республика Крым", "Europe/Simferopol", 550),
    ("92", "Севастополь", "Europe/Simferopol", 70),
    ("93", "Донецкая Народная Республика", "Europe/Moscow", 600),
    ("94", "Луганская Народная Республика", "Europe/Moscow", 450),
    ("95", "Херсонская область", "Europe/Moscow", 150),
)
YAKUTIA_ZONES = ("Asia/Yakutsk", "Asia/Khandyga", "Asia/Vladivostok", "Asia/Ust-Nera",
                 "Asia/Srednekolymsk")

_MUNI_KINDS = ("муниципальный район", "муниципальный округ", "городской округ")
_MUNI_ROOTS = ("Берёзовский", "Заречный", "Красноармейский", "Октябрьский", "Первомайский",
               "Советский", "Нагорный", "Приволжский", "Лесной", "Каменский", "Светлый",
               "Озёрный", "Кировский", "Садовый", "Степной", "Ильинский", "Никольский",
               "Покровский", "Троицкий", "Вознесенский")
_SURNAMES = ("Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов",
             "Михайлов", "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев",
             "Семёнов", "Егоров", "Павлов", "Козлов", "Степанов", "Николаев", "Орлов",
             "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев", "Соловьёв", "Борисов")
_MALE = ("Александр", "Алексей", "Андрей", "Дмитрий", "Евгений", "Иван", "Михаил", "Николай",
         "Сергей", "Владимир", "Юрий", "Олег", "Павел", "Руслан", "Магомед")
_FEMALE = ("Анна", "Елена", "Ирина", "Мария", "Наталья", "Ольга", "Светлана", "Татьяна",
           "Юлия", "Марина", "Галина", "Людмила", "Екатерина", "Айгуль", "Патимат")
_PATRONYMS_M = ("Александрович", "Сергеевич", "Иванович", "Петрович", "Николаевич",
                "Владимирович", "Михайлович", "Юрьевич")
_PATRONYMS_F = ("Александровна", "Сергеевна", "Ивановна", "Петровна", "Николаевна",
                "Владимировна", "Михайловна", "Юрьевна")


# -- deterministic identities (other benchmarks use these to act as the right person) ---------
def support_email(i: int = 1) -> str:
    return f"support{i}@operator.ru"


def coordinator_email(region: str) -> str:
    return f"rc{region}@edu{region}.ru"


def municipal_email(municipality: str) -> str:
    return f"mc{municipality}@edu{municipality[:2]}.ru"


def admin_email(school: str) -> str:
    return f"admin{school}@school.edu.ru"


def inn_check_digit(first9: str) -> int:
    return sum(int(d) * w for d, w in zip(first9, INN_WEIGHTS, strict=True)) % 11 % 10


def make_inn(first9: str) -> str:
    return first9 + str(inn_check_digit(first9))


# -- generation --------------------------------------------------------------------------------
def _apportion(total: int, weights: list[float], minimum: int) -> list[int]:
    """Split `total` by `weights` (largest remainders), each share at least `minimum`."""
    n = len(weights)
    total = max(total, minimum * n)
    free = total - minimum * n
    s = sum(weights)
    raw = [free * w / s for w in weights]
    out = [minimum + int(r) for r in raw]
    rest = total - sum(out)
    for i in sorted(range(n), key=lambda i: (-(raw[i] - int(raw[i])), i))[:rest]:
        out[i] += 1
    return out


def _fio(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return f"{rng.choice(_SURNAMES)}а {rng.choice(_FEMALE)} {rng.choice(_PATRONYMS_F)}"
    return f"{rng.choice(_SURNAMES)} {rng.choice(_MALE)} {rng.choice(_PATRONYMS_M)}"


def _regions_for(scale: float) -> tuple[tuple[str, str, str, int], ...]:
    if scale >= 0.2:
        return REGIONS
    keep = max(3, round(len(REGIONS) * scale * 5))
    step = len(REGIONS) / keep
    return tuple(REGIONS[int(i * step)] for i in range(keep))


def generate(seed: int = 1, scale: float = 1.0) -> dict[str, list[dict[str, Any]]]:
    """The dataset as rows (column name -> text or number) per import kind."""
    rng = random.Random(seed)
    regions = _regions_for(scale)
    weights = [float(w) for *_, w in regions]
    n_schools = _apportion(round(SCHOOLS * scale), weights, 3)
    n_munis = _apportion(round(MUNICIPALITIES * scale), weights, 2)
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    people = out["people"]
    for i in range(1, 4):
        people.append({"email": support_email(i), "name": _fio(rng), "role": "support",
                       "scope": ""})
    for i in range(1, 5):
        people.append({"email": f"pm{i}@minpros.ru", "name": _fio(rng),
                       "role": "program_manager", "scope": ""})
    for i in range(1, 3):
        people.append({"email": f"auditor{i}@minpros.ru", "name": _fio(rng), "role": "auditor",
                       "scope": ""})
    for (rc, name, tz, _), schools_here, munis_here in zip(regions, n_schools, n_munis,
                                                           strict=True):
        out["regions"].append({"code": rc, "name": name, "timezone": tz})
        people.append({"email": coordinator_email(rc), "name": _fio(rng),
                       "role": "regional_coordinator", "scope": rc})
        munis_here = min(munis_here, schools_here)
        muni_codes = [f"{rc}{m:03d}" for m in range(1, munis_here + 1)]
        for m, mc in enumerate(muni_codes):
            root = rng.choice(_MUNI_ROOTS)
            kind = _MUNI_KINDS[m % 3]
            mname = f"{root} {kind}"
            mname = f"{mname} № {m + 1}" if m >= len(_MUNI_ROOTS) else mname
            zone = YAKUTIA_ZONES[m % len(YAKUTIA_ZONES)] if rc == "14" else ""
            out["municipalities"].append({"region": rc, "code": mc, "name": mname,
                                          "timezone": zone})
            people.append({"email": municipal_email(mc), "name": _fio(rng),
                           "role": "municipal_coordinator", "scope": mc})
        per_muni = _apportion(schools_here, [rng.uniform(0.3, 3.0) for _ in muni_codes], 1)
        serial = 0
        for mc, k in zip(muni_codes, per_muni, strict=True):
            n_branches = int(k * BRANCH_SHARE + rng.random()) if k >= 3 else 0
            mains: list[dict[str, Any]] = []
            for j in range(k):
                serial += 1
                code = f"{rc}{serial:05d}"
                school: dict[str, Any] = {"region": rc, "municipality": mc, "code": code}
                size = math.exp(rng.gauss(5.6, 0.9))  # students: median ~270, a long tail
                students = max(12, min(3500, int(size)))
                if j >= k - n_branches and mains:
                    main = rng.choice(mains)
                    main["_branches"] += 1
                    school.update(
                        name=f"Филиал {main['name']} в пос. {rng.choice(_MUNI_ROOTS)}",
                        inn=main["inn"], kpp=f"{main['inn'][:4]}43{main['_branches']:03d}",
                        parent=main["code"])
                    students = max(8, students // 5)
                else:
                    office = f"{rc}{rng.randint(1, 99):02d}"
                    inn = make_inn(f"{office}{serial:05d}")
                    number = rng.randint(1, 150)
                    kind = rng.choice(("СОШ", "СОШ", "СОШ", "ООШ", "Гимназия", "Лицей", "СОШ"))
                    school.update(name=f"МБОУ «{kind} № {number}» ({mc})", inn=inn,
                                  kpp=f"{office}01001", parent="", _branches=0)
                    mains.append(school)
                classes = max(1, round(students / 22))
                teachers = max(3, round(students / 15 * rng.uniform(0.8, 1.2)))
                parents = max(1, round(students * rng.uniform(0.85, 1.0)))
                school.update(teachers_expected=teachers, classes_expected=classes,
                              students_expected=students, parents_expected=parents)
                out["schools"].append(school)
                people.append({"email": admin_email(code), "name": _fio(rng),
                               "role": "school_admin", "scope": code})
                out["metrics"].append(_metrics(rng, code, teachers, classes, parents, students))
    for s in out["schools"]:
        s.pop("_branches", None)
    return out


def _metrics(rng: random.Random, code: str, teachers: int, classes: int, parents: int,
             students: int) -> dict[str, Any]:
    expected = {"teachers": teachers, "classes": classes, "parents": parents,
                "students": students}
    counts = {m: e + rng.randint(0, max(1, e // 20)) for m, e in expected.items()}
    if rng.random() >= COMPLETE_SHARE:  # falls short at one of steps 5-8
        short = rng.choice(list(expected))
        counts[short] = int(expected[short] * rng.uniform(0.0, 0.95))
        for later in list(expected)[list(expected).index(short) + 1:]:
            counts[later] = int(counts[later] * rng.uniform(0.0, 1.0))
    return {"school": code, **counts}


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def write_dataset(out_dir: str | Path, seed: int = 1, scale: float = 1.0) -> dict[str, Path]:
    """Write the import files (and manifest.json) into `out_dir`; returns their paths by kind."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = generate(seed, scale)
    paths: dict[str, Path] = {}
    for kind in KINDS:
        paths[kind] = out / f"{kind}.csv"
        _write_csv(paths[kind], data[kind])
    manifest = {"seed": seed, "scale": scale, **{k: len(v) for k, v in data.items()},
                "branches": sum(1 for s in data["schools"] if s["parent"]),
                "regions_codes": [r["code"] for r in data["regions"]]}
    paths["manifest"] = out / "manifest.json"
    paths["manifest"].write_text(json.dumps(manifest, ensure_ascii=False, indent=1),
                                 encoding="utf-8")
    return paths


def load_dataset(services: Any, paths: dict[str, Path], now: datetime,
                 kinds: Iterable[str] = REGISTRY_KINDS) -> dict[str, tuple[Any, float]]:
    """Import `kinds` (default: the registry and the people, not the metrics) in order through
    `workflow.importing.import_file`; returns {kind: (ImportResult, seconds)}."""
    from workflow.importing import import_file

    done = {}
    for kind in kinds:
        t0 = time.perf_counter()
        result = import_file(services, kind, paths[kind], now=now)
        done[kind] = (result, time.perf_counter() - t0)
    return done


def walk_regions(services: Any, now: datetime, regions: Iterable[str] | None = None,
                 reconcile: bool = True) -> int:
    """Steps 1-3 for every region (or `regions`), as support and the regional coordinator;
    the schools follow. Without `reconcile` the caller has recorded step 2's reconciliations.
    Returns the number of transitions."""
    from workflow.reconcile import reconcile_as_registered

    if regions is None:
        from sqlalchemy import select

        from storage.models import regions as regions_table

        with services.db.read() as conn:
            regions = list(conn.execute(select(regions_table.c.code).order_by(
                regions_table.c.code)).scalars())
    n = 0
    for rc in regions:
        n += services.advance("region", rc, "coordinator", support_email(1), now).transitions
        if reconcile:
            reconcile_as_registered(services, rc, now)  # step 2's guard: a clean reconciliation
        n += services.advance("region", rc, "registry", coordinator_email(rc), now).transitions
        n += services.advance("region", rc, "municipalities", coordinator_email(rc),
                              now).transitions
    return n


__all__ = ["KINDS", "REGISTRY_KINDS", "admin_email", "coordinator_email", "generate",
           "load_dataset", "make_inn", "municipal_email", "support_email", "walk_regions",
           "write_dataset"]
