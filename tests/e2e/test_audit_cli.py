"""`audit anchor`, `audit verify --anchor/--anchors`, `audit log`'s two times, `unassign`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.e2e import test_cli as base
from tests.e2e.cli import run

AT = base.AT
home, loaded = base.home, base.loaded  # the fixtures: a folder with a region, schools, people

LATER = "2026-09-02T10:00:00+03:00"


def sql(folder: Path, *statements: str) -> None:
    engine = create_engine(f"sqlite:///{folder / 'rollout.db'}")
    with engine.begin() as conn:
        for s in statements:
            conn.execute(text(s))
    engine.dispose()


@pytest.mark.usefixtures("russian")
def test_anchor_then_cut_history_exits_7(loaded: Path, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    """The anchor's last line is SEQ:HASH; after the tail is cut and the head moved (and the
    anchors table emptied), verify with the anchor kept outside exits 7 naming the event."""
    run(capsys, "advance", "--region", "07", "--step", "coordinator", "--as", "support@op.ru",
        "--at", AT)
    r = run(capsys, "audit", "anchor", "--as", "audit@op.ru", "--at", LATER)
    assert r.code == 0, r.err
    kept = r.out.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+:[0-9a-f]{64}", kept)
    seq = int(kept.split(":")[0])
    assert run(capsys, "audit", "verify", "--anchor", kept).code == 0
    (loaded / "anchors.txt").write_text(f"# weekly anchors\n\n{kept}\n", encoding="utf-8")
    assert run(capsys, "audit", "verify", "--anchors", "anchors.txt").code == 0
    sql(loaded, f"DELETE FROM events WHERE seq = {seq}",
        f"UPDATE chain_head SET seq = {seq - 1}, hash = (SELECT hash FROM events "
        f"WHERE seq = {seq - 1})", "DELETE FROM anchors")
    cut = run(capsys, "audit", "verify", "--anchor", kept)
    assert cut.code == 7
    assert f"событием №{seq}" in cut.err and f"история кончается на №{seq - 1}" in cut.err
    assert run(capsys, "audit", "verify", "--anchors", "anchors.txt").code == 7


@pytest.mark.usefixtures("russian")
def test_recorded_anchor_is_in_the_table(loaded: Path, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    """`audit anchor` writes who and when; verify then reports one anchor compared."""
    r = run(capsys, "audit", "anchor", "--as", "Audit@op.ru", "--at", LATER)
    engine = create_engine(f"sqlite:///{loaded / 'rollout.db'}")
    with engine.connect() as conn:
        row = conn.execute(text("SELECT seq, hash, actor, at FROM anchors")).one()
    engine.dispose()
    assert f"{row.seq}:{row.hash}" == r.out.strip().splitlines()[-1]
    assert row.actor == "audit@op.ru" and str(row.at).startswith("2026-09-02 07:00")
    assert "якорей сверено: 1" in run(capsys, "audit", "verify").out


def test_bad_anchors_are_invalid_input(loaded: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    """A malformed anchor is exit 6 naming it (or the file and line); nothing is checked."""
    bad = run(capsys, "audit", "verify", "--anchor", "12:abc")
    assert bad.code == 6 and "--anchor 12:abc" in bad.err and "SEQ:HASH" in bad.err
    (loaded / "a.txt").write_text("3:" + "a" * 64 + "\nnot an anchor\n", encoding="utf-8")
    in_file = run(capsys, "audit", "verify", "--anchors", "a.txt")
    assert in_file.code == 6 and "a.txt:2" in in_file.err
    assert run(capsys, "audit", "verify", "--anchors", "missing.txt").code == 6


@pytest.mark.usefixtures("russian")
def test_machine_edit_exits_7_naming_the_school(loaded: Path, capsys: pytest.CaptureFixture[str]
                                                ) -> None:
    """A school set to done in the machines table: exit 7, the school named, in Russian."""
    sql(loaded, "UPDATE machines SET state = 'done' WHERE code = 'S2'")
    r = run(capsys, "audit", "verify")
    assert r.code == 7
    assert "школа S2: состояние в базе «done», по истории «coordinator»" in r.err


def test_log_shows_claimed_and_real_time(loaded: Path, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    """`--at` is the claimed moment; `recorded_at` is when it was written (JSON and export)."""
    run(capsys, "advance", "--region", "07", "--step", "coordinator", "--as", "support@op.ru",
        "--at", "2026-01-15T10:00:00+03:00")
    log = json.loads(run(capsys, "audit", "log", "--region", "07", "--json").out)
    assert log[-1]["at"] == "2026-01-15T07:00:00+00:00"
    assert log[-1]["recorded_at"] > log[-1]["at"]  # really written later than it claims
    table = run(capsys, "audit", "log", "--region", "07").out
    assert "recorded" in table
    assert run(capsys, "audit", "export", "--format", "csv", "--out", "h.csv").code == 0
    header = (loaded / "h.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("\ufeffseq;at;recorded_at;event")


@pytest.mark.usefixtures("russian")
def test_unassign_on_the_command_line(loaded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Appoint, remove (exit 0), remove again (6), remove as someone without the right (4);
    the history still proves the state."""
    base = ["--role", "school_admin", "--scope", "S1", "--email", "a@s1.ru"]
    assert run(capsys, "assign", *base, "--name", "Админ", "--as", "rc@kbr.ru",
               "--at", AT).code == 0
    denied = run(capsys, "unassign", *base, "--as", "audit@op.ru", "--at", AT)
    assert denied.code == 4
    done = run(capsys, "unassign", *base, "--as", "rc@kbr.ru", "--reason", "уволился",
               "--at", AT)
    assert done.code == 0 and "роль «администратор ОО» (школа S1) у a@s1.ru снята" in done.out
    assert run(capsys, "unassign", *base, "--as", "rc@kbr.ru", "--at", AT).code == 6
    log = json.loads(run(capsys, "audit", "log", "--school", "S1", "--json").out)
    assert [e["event"] for e in log[-2:]] == ["ActionDenied", "PersonUnassigned"]
    assert run(capsys, "audit", "verify").code == 0
