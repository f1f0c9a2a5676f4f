"""Reconciliation of the largest region of the national dataset: its list as XLSX and CSV with
a few percent of differences, read, compared, recorded; the request written. Prints figures.

    .venv/bin/python -m benchmarks.bench_reconcile [--scale 1.0] [--dir /tmp/bench-reconcile]
"""

from __future__ import annotations

import argparse
import csv
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import national

NOW = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--dir", default="/tmp/bench-reconcile")
    args = ap.parse_args()
    from openpyxl import Workbook

    from tests.conftest import make_services
    from workflow.reconcile import read_list, reconcile, request_xlsx
    from workflow.reconcile.service import registry_of

    work = Path(args.dir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    paths = national.write_dataset(work / "data", seed=1, scale=args.scale)
    services = make_services(f"sqlite:///{work / 'rollout.db'}", work)
    national.load_dataset(services, paths, NOW, kinds=("regions", "municipalities", "schools"))
    with services.db.read() as conn:
        from sqlalchemy import func, select

        from storage.models import schools
        region = conn.execute(select(schools.c.region_code).group_by(schools.c.region_code)
                              .order_by(func.count().desc()).limit(1)).scalar_one()
        found, munis = registry_of(conn, region)
    # the list: every 50th school closed, every 40th moved to another municipality, 1 % new
    codes = sorted(munis)
    header = ["ИНН", "КПП", "Полное наименование", "Муниципалитет", "Головная организация"]
    rows = []
    by_code = {s.code: s for s in found}
    for i, s in enumerate(found):
        if i % 50 == 7 and not any(x.parent == s.code for x in found):
            continue
        muni = s.municipality or ""
        if i % 40 == 3 and len(codes) > 1:
            muni = codes[(codes.index(muni) + 1) % len(codes)] if muni in codes else codes[0]
        parent = by_code[s.parent] if s.parent else None
        rows.append([s.inn or "", s.kpp or "", s.name, munis.get(muni, muni),
                     f"{parent.inn}/{parent.kpp}" if parent and parent.inn else ""])
    for j in range(len(found) // 100):
        rows.append([national.make_inn(f"99{900_000 + j:07d}"), "000101001",
                     f"МБОУ «Новая школа № {j}»",
                     codes[0], ""])
    csv_path = work / "list.csv"
    with csv_path.open("w", encoding="cp1251", newline="") as f:
        w = csv.writer(f, delimiter=";")
        w.writerow(header)
        w.writerows(rows)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Перечень ОО"])
    sheet.append(header)
    for r in rows:
        sheet.append(r)
    xlsx_path = work / "list.xlsx"
    book.save(xlsx_path)
    figures = {}
    for label, path in (("CSV", csv_path), ("XLSX", xlsx_path)):
        t0 = time.perf_counter()
        read_list(path)
        figures[f"read the list ({label})"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        done = reconcile(services, region, path, NOW)
        figures[f"reconcile, recorded ({label})"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    data = request_xlsx(done.result.items)
    figures["write the request XLSX"] = time.perf_counter() - t0
    with services.db.read() as conn:
        from storage import repo
        t0 = time.perf_counter()
        repo.region_facts(conn, region)
        figures["region_facts (guard) after it"] = time.perf_counter() - t0
    print(f"region {region}: {len(found)} schools in the registry, {len(rows)} list rows; "
          f"{done.result.counts()}; request {len(data)} bytes")
    for k, v in figures.items():
        print(f"| {k} | {v * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
