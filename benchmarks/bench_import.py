"""Import memory benchmark: peak RSS of `rollout import` on huge and hostile files.

    .venv/bin/python benchmarks/bench_import.py [--rows 1000000] [--valid 500000] [--only NAME]

Each case runs the real CLI in its own process (a fresh SQLite database with one region) and
reports that process's peak resident memory, its exit code and its time; nothing is asserted
here (tests never assert durations). The files are generated in a temporary folder:
- valid-csv: a valid schools CSV of --valid rows (one region, INN/KPP on every row);
- bad-csv: --rows schools rows, each with a bad count (100 errors shown, the rest counted);
- metrics-csv: --rows metrics rows naming unknown schools;
- bomb-xlsx: a small XLSX whose shared string unpacks to 300 MB (refused before reading);
- big-xlsx: a workbook of schools close to the 20 MB upload limit;
- dev-zero: `import schools /dev/zero`.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INN_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
HEADER = ["region", "code", "name", "inn", "kpp", "teachers_expected", "classes_expected",
          "students_expected"]


def inn(n: int) -> str:
    base = f"{770000000 + n:09d}"[-9:]
    check = sum(int(d) * w for d, w in zip(base, INN_WEIGHTS, strict=True)) % 11 % 10
    return base + str(check)


def school_row(i: int, bad: bool = False) -> list[str]:
    return ["07", f"{i:07d}", f"МБОУ «Средняя общеобразовательная школа № {i}» г. Нальчика",
            inn(i), "070101001", "35,0" if not bad else "7,5", "12", "310"]


def write_schools(path: Path, rows: int, bad: bool) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f, delimiter=";")
        w.writerow(HEADER)
        for i in range(rows):
            w.writerow(school_row(i, bad))


def write_metrics(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["school", "teachers", "classes"])
        for i in range(rows):
            w.writerow([f"X{i}", "10", "5"])


def write_bomb(path: Path) -> None:
    """A workbook whose one shared string is 300 MB of 'A' (a few hundred KB compressed)."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["code", "name"])  # type: ignore[union-attr]
    book.active.append(["07", "x"])  # type: ignore[union-attr]
    tmp = path.with_suffix(".tmp.xlsx")
    book.save(tmp)
    with zipfile.ZipFile(tmp) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if item.filename != "xl/sharedStrings.xml":
                dst.writestr(item, src.read(item.filename))
        with dst.open("xl/sharedStrings.xml", "w") as part:
            part.write(b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats'
                       b'.org/spreadsheetml/2006/main" count="2" uniqueCount="2">'
                       b"<si><t>code</t></si><si><t>")
            for _ in range(300):
                part.write(b"A" * 2**20)
            part.write(b"</t></si></sst>")
    tmp.unlink()


def write_big_xlsx(path: Path, limit: int = 19 * 2**20) -> int:
    """Schools rows in a write-only workbook until the file nears `limit` bytes."""
    import openpyxl

    rows = 0
    step = 50_000
    while True:
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(HEADER)
        for i in range(rows + step):
            r = school_row(i)
            sheet.append([r[0], r[1], r[2], r[3], r[4], 35, 12, 310])
        book.save(path)
        if path.stat().st_size > limit or rows > 2_000_000:
            return rows + step
        rows += step * max(1, int(limit / path.stat().st_size) - 1)


RUNNER = """
import resource, sys, time
from workflow.cli import main
t = time.perf_counter()
try:
    main(sys.argv[1:])
    code = 0
except SystemExit as exc:
    code = int(exc.code or 0)
print(f"@@ {code} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} "
      f"{time.perf_counter() - t:.1f}", file=sys.stderr)
"""


def run(home: Path, *args: str) -> tuple[int, int, float, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", RUNNER, *args], cwd=home, env=env,
                          capture_output=True, text=True)
    last = [line for line in proc.stderr.splitlines() if line.startswith("@@ ")][-1].split()
    other = [line for line in proc.stderr.splitlines() if not line.startswith("@@ ")]
    return int(last[1]), int(last[2]), float(last[3]), (other or [""])[-1][:90]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--valid", type=int, default=500_000)
    ap.add_argument("--only")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / "config.yaml").write_text("mail: {transport: file, dir: mail/}\n")
        (home / "regions.csv").write_text("code,name\n07,Кабардино-Балкарская Республика\n")
        cases: list[tuple[str, str, str, Path]] = []
        if args.only in (None, "valid-csv"):
            write_schools(home / "valid.csv", args.valid, bad=False)
            cases.append(("valid-csv", f"{args.valid} valid schools", "schools",
                          home / "valid.csv"))
        if args.only in (None, "bad-csv"):
            write_schools(home / "bad.csv", args.rows, bad=True)
            cases.append(("bad-csv", f"{args.rows} bad schools", "schools", home / "bad.csv"))
        if args.only in (None, "metrics-csv"):
            write_metrics(home / "metrics.csv", args.rows)
            cases.append(("metrics-csv", f"{args.rows} unknown-school metrics", "metrics",
                          home / "metrics.csv"))
        if args.only in (None, "bomb-xlsx"):
            write_bomb(home / "bomb.xlsx")
            cases.append(("bomb-xlsx", "300 MB shared string", "regions", home / "bomb.xlsx"))
        if args.only in (None, "big-xlsx"):
            n = write_big_xlsx(home / "big.xlsx")
            cases.append(("big-xlsx", f"{n} schools in XLSX", "schools", home / "big.xlsx"))
        if args.only in (None, "dev-zero"):
            cases.append(("dev-zero", "/dev/zero", "schools", Path("/dev/zero")))
        run(home, "init")
        run(home, "import", "regions", "regions.csv")
        print(f"| case | file | size | exit | peak RSS | time | last line |\n|{'---|' * 7}")
        for name, what, kind, path in cases:
            size = path.stat().st_size if path.is_file() else 0
            code, rss, secs, last = run(home, "import", kind, str(path), "--dry-run")
            print(f"| {name} | {what} | {size / 2**20:.1f} MB | {code} | {rss} MB | {secs} s "
                  f"| {last} |", flush=True)


if __name__ == "__main__":
    main()
