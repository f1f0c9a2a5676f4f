"""The CLI as a user runs it: a fresh folder, files with mistakes, the contract's exit codes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.cli import Result, run

AT = "2026-09-01T10:00:00+03:00"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh folder with a config.yaml on the embedded defaults, as the working directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ROLLOUT_CONFIG", raising=False)
    monkeypatch.delenv("ROLLOUT_DATABASE_URL", raising=False)
    (tmp_path / "config.yaml").write_text("mail: {transport: file, dir: mail/}\n",
                                          encoding="utf-8")
    return tmp_path


def write(path: Path, rows: list[list[object]], encoding: str = "utf-8", delimiter: str = ",",
          ) -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return path


@pytest.fixture
def loaded(home: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A region with two schools and its people, imported from Excel-style files."""
    assert run(capsys, "init").code == 0
    write(home / "regions.csv", [["Код", "Наименование", "Часовой пояс"],
                                 ["7", "Кабардино-Балкарская Республика", "Europe/Moscow"],
                                 ["41", "Камчатский край", "Asia/Kamchatka"]],
          encoding="cp1251", delimiter=";")
    write(home / "schools.csv", [
        ["Регион", "Код ОО", "Наименование", "ИНН", "Педагогов", "Классов", "Учащихся"],
        ["07", "S1", "МКОУ «СОШ № 1»", "7707083893", 10, 5, 100],
        ["07", "S2", "МКОУ «СОШ № 2»", "", 8, 4, 80]], encoding="utf-8-sig", delimiter=";")
    write(home / "people.csv", [["email", "name", "role", "scope"],
                                ["support@op.ru", "СТП", "support", ""],
                                ["rc@kbr.ru", "Иванов И.И.", "региональный координатор", "07"],
                                ["audit@op.ru", "Аудитор", "auditor", ""]])
    for kind in ("regions", "schools", "people"):
        r = run(capsys, "import", kind, f"{kind}.csv", "--at", AT)
        assert r.code == 0, r.err
    return home


def test_init_is_safe_to_run_again(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`init` creates the database, and a second run says it is up to date."""
    first, second = run(capsys, "init"), run(capsys, "init")
    assert (first.code, second.code) == (0, 0)
    assert "migrated" in first.out and "up to date" in second.out
    assert (home / "rollout.db").exists()


def test_commands_before_init_say_what_to_do(home: Path, capsys: pytest.CaptureFixture[str]
                                             ) -> None:
    """Using a database that was never initialised exits 6 and says to run `rollout init`."""
    r = run(capsys, "report")
    assert r.code == 6
    assert "rollout init" in r.err


@pytest.mark.usefixtures("russian")
def test_bad_file_lists_every_bad_row_and_writes_nothing(loaded: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    """A schools file with three mistakes is rejected whole, naming FILE:ROW: column for each."""
    write(loaded / "more.csv", [
        ["region", "code", "name", "inn", "teachers_expected", "classes_expected",
         "students_expected"],
        ["07", "S3", "Школа 3", "7707083894", 10, 5, 100],
        ["99", "S4", "Школа 4", "", 10, 5, 100],
        ["07", "S5", "Школа 5", "", "десять", 5, 100],
        ["07", "S6", "Школа 6", "", 10, 5, 100]])
    r = run(capsys, "import", "schools", "more.csv", "--at", AT)
    assert r.code == 6
    assert "more.csv:2: inn: 7707083894: неверная контрольная цифра ИНН" in r.err
    assert "more.csv:4: teachers_expected: 'десять': нужно целое число" in r.err
    r2 = run(capsys, "import", "schools", "more.csv", "--dry-run", "--at", AT)
    assert r2.code == 6
    report = json.loads(run(capsys, "report", "--format", "json").out)
    assert {x["code"]: x["schools"] for x in report["regions"]} == {"07": 2, "41": 0}


@pytest.mark.usefixtures("russian")
def test_reference_problems_are_reported_after_cells(loaded: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """An неизвестный регион is named with its row once the cells are readable."""
    write(loaded / "more.csv", [
        ["region", "code", "name", "teachers_expected", "classes_expected", "students_expected"],
        ["99", "S4", "Школа 4", 10, 5, 100]])
    r = run(capsys, "import", "schools", "more.csv", "--at", AT)
    assert r.code == 6
    assert "more.csv:2: region: неизвестный регион '99'" in r.err


def test_dry_run_reports_and_writes_nothing(loaded: Path, capsys: pytest.CaptureFixture[str]
                                            ) -> None:
    """--dry-run says what would change and leaves the registry as it was."""
    write(loaded / "more.csv", [
        ["region", "code", "name", "teachers_expected", "classes_expected", "students_expected"],
        ["07", "S3", "Школа 3", 10, 5, 100]])
    r = run(capsys, "import", "schools", "more.csv", "--dry-run", "--at", AT)
    assert r.code == 0
    assert "1 created" in r.out and "dry run" in r.out
    assert run(capsys, "status", "--school", "S3").code == 6


def test_status_json_has_the_contract_fields(loaded: Path, capsys: pytest.CaptureFixture[str]
                                             ) -> None:
    """`status --json` prints kind, code, name, state and every step's status."""
    r = run(capsys, "status", "--school", "S1", "--json")
    data = json.loads(r.out)
    assert r.code == 0
    assert (data["kind"], data["code"], data["name"], data["state"]) == (
        "school", "S1", "МКОУ «СОШ № 1»", "coordinator")
    assert data["steps"]["coordinator"] == "current"
    assert set(data["steps"].values()) == {"current", "pending"}


def test_exit_codes_of_the_contract(loaded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Out of order 3, wrong person 4, unknown code 6, usage 2, success 0."""
    base = ["--at", AT]
    out_of_order = run(capsys, "advance", "--region", "07", "--step", "registry",
                       "--as", "rc@kbr.ru", *base)
    assert out_of_order.code == 3
    assert "coordinator must be done first" in out_of_order.err
    assert run(capsys, "advance", "--region", "07", "--step", "coordinator",
               "--as", "rc@kbr.ru", *base).code == 4
    assert run(capsys, "advance", "--region", "07", "--step", "coordinator",
               "--as", "stranger@x.ru", *base).code == 4
    assert run(capsys, "advance", "--region", "77", "--step", "coordinator",
               "--as", "support@op.ru", *base).code == 6
    assert run(capsys, "advance", "--step", "coordinator", "--as", "support@op.ru").code == 2
    assert run(capsys, "advance", "--region", "07", "--step", "nope",
               "--as", "support@op.ru", *base).code == 2
    assert run(capsys, "advance", "--region", "07", "--step", "coordinator",
               "--as", "support@op.ru", "--at", "yesterday").code == 2
    ok = run(capsys, "advance", "--region", "07", "--step", "coordinator",
             "--as", "support@op.ru", *base)
    assert ok.code == 0
    assert "state is now registry" in ok.out
    again = run(capsys, "advance", "--region", "07", "--step", "coordinator",
                "--as", "support@op.ru", *base)
    assert again.code == 3 and "already done" in again.err


def test_report_formats(loaded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The report names every region, schools or not, as a table, JSON and CSV."""
    data = json.loads(run(capsys, "report", "--format", "json").out)
    assert [(r["code"], r["name"], r["state"], r["schools"]) for r in data["regions"]] == [
        ("07", "Кабардино-Балкарская Республика", "coordinator", 2),
        ("41", "Камчатский край", "coordinator", 0)]
    assert data["regions"][0]["steps"]["coordinator"] == 0
    out = run(capsys, "report", "--format", "csv").out
    assert out.startswith("\ufeff")  # UTF-8 with BOM and `;`: what Russian Excel opens
    rows = list(csv.reader(out[1:].splitlines(), delimiter=";"))
    assert rows[0][:4] == ["code", "name", "state", "schools"]
    assert rows[1][:4] == ["07", "Кабардино-Балкарская Республика", "coordinator", "2"]
    table = run(capsys, "report")
    assert table.code == 0 and "Камчатский край" in table.out
    regional = json.loads(run(capsys, "report", "--region", "07", "--format", "json").out)
    assert [s["code"] for s in regional["schools"]] == ["S1", "S2"]


@pytest.mark.usefixtures("russian")
def test_audit_log_export_and_tampering(loaded: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    """The log lists events oldest first; a tampered database makes verify exit 7."""
    run(capsys, "advance", "--region", "07", "--step", "coordinator", "--as", "support@op.ru",
        "--at", AT)
    log = json.loads(run(capsys, "audit", "log", "--school", "S1", "--json").out)
    assert [(e["event"], e["step"], e["from_state"], e["to_state"]) for e in log] == [
        ("StepCompleted", "coordinator", "coordinator", "registry")]
    assert {"at", "actor", "reason"} <= set(log[0])
    ok = run(capsys, "audit", "verify")
    assert ok.code == 0 and "цепочка цела" in ok.out
    assert run(capsys, "audit", "export", "--format", "jsonl", "--out", "h.jsonl").code == 0
    assert len((loaded / "h.jsonl").read_text(encoding="utf-8").splitlines()) >= 4
    engine = create_engine(f"sqlite:///{loaded / 'rollout.db'}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE events SET reason = 'nothing happened' WHERE seq = 2"))
    engine.dispose()
    bad = run(capsys, "audit", "verify")
    assert bad.code == 7
    assert "событием №2" in bad.err


def test_config_errors_name_the_key(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown key or a bad value exits 6 and names the key path."""
    (home / "config.yaml").write_text("reminders:\n  repeat_every_dayz: 3\n", encoding="utf-8")
    r = run(capsys, "report")
    assert r.code == 6 and "reminders.repeat_every_dayz: unknown key" in r.err
    (home / "config.yaml").write_text("steps:\n  teachers: {threshold: 2}\n", encoding="utf-8")
    r = run(capsys, "report")
    assert r.code == 6 and "steps.teachers.threshold" in r.err
    assert run(capsys, "--config", "missing.yaml", "report").code == 6


def test_diagram_from_the_engine(capsys: pytest.CaptureFixture[str]) -> None:
    """Mermaid and dot diagrams draw the prerequisite graph and the life of a step with its
    guards, as the engine runs them."""
    mermaid = run(capsys, "diagram").out
    dot = run(capsys, "diagram", "--format", "dot").out
    assert "flowchart TD" in mermaid and "stateDiagram-v2" in mermaid
    for edge in ("admins --> teachers", "admins --> classes", "classes --> parents",
                 "classes --> students", "teachers --> adoption", "students --> adoption"):
        assert f"    {edge}\n" in mermaid
    assert "admins --> parents" not in mermaid
    assert "current --> done: complete [_evidence_holds]" in mermaid
    assert "current --> skipped: skip [_may_skip]" in mermaid
    assert "pending --> current: open [_prerequisites_finished]" in mermaid
    assert dot.startswith("digraph rollout {")
    assert '"classes" -> "parents";' in dot


def test_diagram_draws_the_configured_graph(home: Path, capsys: pytest.CaptureFixture[str]
                                            ) -> None:
    """A strict line in config.yaml is the line `diagram` draws."""
    (home / "config.yaml").write_text(
        "steps:\n  classes: {after: [teachers]}\n  parents: {after: [classes]}\n"
        "  students: {after: [parents]}\n  adoption: {after: [students]}\n", encoding="utf-8")
    mermaid = run(capsys, "diagram").out
    assert "    teachers --> classes\n" in mermaid and "    parents --> students\n" in mermaid
    assert "admins --> classes" not in mermaid


def test_unknown_error_is_short(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file that is not a database is refused without a traceback."""
    (home / "rollout.db").write_bytes(b"this is not a database" * 100)
    r: Result = run(capsys, "report")
    assert r.code in (1, 6)
    assert "Traceback" not in r.err and r.err.startswith("rollout: ")


def test_every_listed_command_resolves(capsys: pytest.CaptureFixture[str]) -> None:
    """Each command named in the lazy table is found in its module and answers --help."""
    from workflow.cli import COMMANDS

    for name in COMMANDS:
        r = run(capsys, name, "--help")
        assert r.code == 0, (name, r.err)
        assert f"Usage: rollout {name}" in r.out


def test_cli_import_kinds_match_the_importer() -> None:
    """The CLI's list of import kinds is the importer's."""
    from workflow.cli.machines import KINDS as CLI_KINDS
    from workflow.importing import KINDS

    assert CLI_KINDS == KINDS


def test_status_shows_local_time(loaded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The status table shows since-when in the school's own time zone, named in the header."""
    r = run(capsys, "status", "--school", "S1")
    assert r.code == 0
    assert "since (MSK, Moscow)" in r.out
    assert "2026-09-01 10:00" in r.out  # imported at 07:00 UTC


def test_report_and_audit_export_write_spreadsheets(loaded: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """`report --format xlsx|csv --out` and `audit export --format xlsx|csv` write files that
    open with their cells as written, a formula typed into a reason coming out as text."""
    import openpyxl

    run(capsys, "advance", "--region", "07", "--step", "coordinator", "--as", "support@op.ru",
        "--at", AT)
    run(capsys, "reopen", "--region", "07", "--step", "coordinator", "--as", "support@op.ru",
        "--reason", "=HYPERLINK(\"http://x\",\"y\")", "--at", AT)
    assert run(capsys, "report", "--format", "xlsx").code == 2  # a workbook needs a file
    assert run(capsys, "report", "--region", "07", "--format", "xlsx", "--out", "r.xlsx").code == 0
    rows = list(openpyxl.load_workbook(loaded / "r.xlsx").active.iter_rows(values_only=True))
    assert rows[0][:6] == ("level", "code", "name", "municipality", "state", "schools")
    assert [(r[0], r[1], r[2]) for r in rows[1:]][-2:] == [
        ("school", "S1", "МКОУ «СОШ № 1»"), ("school", "S2", "МКОУ «СОШ № 2»")]
    assert run(capsys, "report", "--format", "csv", "--out", "r.csv").code == 0
    assert (loaded / "r.csv").read_bytes().startswith(b"\xef\xbb\xbfcode;name;")
    assert run(capsys, "audit", "export", "--format", "xlsx", "--out", "h.xlsx").code == 0
    events = list(openpyxl.load_workbook(loaded / "h.xlsx").active.iter_rows(values_only=True))
    reasons = [e[12] for e in events[1:] if e[3] == "StepReopened" and e[4] == "region"]
    assert reasons and set(reasons) == {"'=HYPERLINK(\"http://x\",\"y\")"}


@pytest.mark.usefixtures("russian")
def test_import_refuses_a_device_and_names_ignored_columns(loaded: Path,
                                                           capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    """`import schools /dev/zero` exits 6 at once; extra columns (ОГРН, Адрес) are ignored and
    named on stderr, the import goes ahead."""
    zero = run(capsys, "import", "schools", "/dev/zero")
    assert zero.code == 6 and "не обычный файл" in zero.err
    write(loaded / "more.csv", [["Регион", "Код ОО", "Наименование", "ОГРН", "Адрес",
                                 "Педагогов", "Классов", "Учащихся"],
                                ["07", "S3", "МКОУ «СОШ № 3»", "1027700132195", "Нальчик",
                                 "35,0", "7", "100"]], delimiter=";")
    ok = run(capsys, "import", "schools", "more.csv", "--at", AT)
    assert ok.code == 0, ok.err
    assert "столбцы не используются и пропущены: ОГРН, Адрес" in ok.err
    assert "создано 1" in ok.out


@pytest.mark.usefixtures("russian")
def test_an_actor_longer_than_an_address_is_invalid_input(loaded: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    """A 300-character `--as` is refused with exit 6 naming the option (it was exit 1)."""
    r = run(capsys, "advance", "--region", "07", "--step", "coordinator", "--as",
            "a" * 290 + "@op.ru", "--at", AT)
    assert r.code == 6 and "--as: длиннее 254 символов" in r.err


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--email", "a" * 260 + "@op.ru", "--email: длиннее 254 символов"),
    ("--name", "Я" * 301, "--name: длиннее 300 символов"),
    ("--scope", "07/01", "--scope: «07/01»: в коде допустимы"),
])
@pytest.mark.usefixtures("russian")
def test_assign_arguments_keep_the_import_limits(loaded: Path, capsys: pytest.CaptureFixture[str],
                                                 option: str, value: str, message: str) -> None:
    """What PostgreSQL would refuse (or the dashboard could not open) is exit 6 naming the
    option, before anything is looked up."""
    args = {"--scope": "S1", "--email": "admin@s1.ru", "--name": "Иванов И. И.", option: value}
    r = run(capsys, "assign", "--role", "school_admin", *(x for kv in args.items() for x in kv),
            "--as", "rc@kbr.ru", "--at", AT)
    assert r.code == 6 and message in r.err


def test_import_people_remove_missing(loaded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--remove-missing` takes a role from whoever the file no longer lists on its (role,
    scope), says so, and leaves roles the file does not mention; without it nothing goes."""
    write(loaded / "new-rc.csv", [["email", "name", "role", "scope"],
                                  ["rc2@kbr.ru", "Петров П.П.", "regional_coordinator", "07"]])
    r = run(capsys, "import", "people", "new-rc.csv", "--at", AT)
    assert r.code == 0 and "removed" not in r.out
    r = run(capsys, "import", "people", "new-rc.csv", "--remove-missing", "--at", AT)
    assert r.code == 0, r.err
    assert "removed: regional_coordinator 07 rc@kbr.ru" in r.out
    assert "1 role(s) removed" in r.out
    status = json.loads(run(capsys, "status", "--region", "07", "--json").out)
    emails = {p["email"] for p in status["people"]}
    assert "rc@kbr.ru" not in emails and "rc2@kbr.ru" in emails
    r = run(capsys, "import", "regions", "regions.csv", "--remove-missing", "--at", AT)
    assert r.code == 2
