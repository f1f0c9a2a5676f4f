"""The mail commands as a user runs them: letter, remind, outbox, run (SIGTERM, kill -9)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.cli import run, spawn
from tests.mailkit import Handler, new_db, seed, smtp_server

AT = "2026-03-18T10:00:00+03:00"  # 12 business days after the seed's T0


class SlowHandler(Handler):
    """Takes a little time per message, so a relay can be killed in the middle of a batch."""

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.02)
        return await super().handle_DATA(server, session, envelope)


def service(home: Path, log: Path) -> subprocess.Popen[bytes]:
    """`rollout run` in its own process, its log in a file the test can read while it runs."""
    with log.open("wb") as f:
        return subprocess.Popen([sys.executable, "-m", "workflow.cli", "run", "--at", AT],
                                cwd=home, env=dict(os.environ), stdout=f, stderr=f)


def wait_for(condition, timeout_s: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = new_db(tmp_path)
    seed(db, schools_n=3)
    db.dispose()
    (tmp_path / "config.yaml").write_text(
        f"database: {{url: sqlite:///{tmp_path / 'rollout.db'}}}\nmail: {{dir: mail}}\n",
        encoding="utf-8")
    monkeypatch.setenv("ROLLOUT_CONFIG", str(tmp_path / "config.yaml"))
    return tmp_path


def use_smtp(home: Path, port: int) -> None:
    (home / "config.yaml").write_text(
        f"database: {{url: sqlite:///{home / 'rollout.db'}}}\n"
        f"mail: {{transport: smtp, smtp: {{host: 127.0.0.1, port: {port}, timeout_s: 5}}}}\n",
        encoding="utf-8")


def test_letter_renders_and_send_queues(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`letter coordinator` prints the letter; --send queues it for the region's coordinator."""
    shown = run(capsys, "letter", "coordinator", "--region", "77")
    assert shown.code == 0 and "Иванова Анна Сергеевна" in shown.out
    assert "To: vv.savchenko@mgou.ru" in shown.out
    assert run(capsys, "letter", "coordinator", "--region", "77", "--send").code == 2
    assert run(capsys, "letter", "coordinator", "--region", "77", "--send", "--as",
               "admin1@example.org").code == 4
    assert run(capsys, "letter", "nope", "--region", "77").code == 2
    assert run(capsys, "letter", "registry", "--region", "99").code == 6
    unreconciled = run(capsys, "letter", "registry", "--region", "77")
    assert unreconciled.code == 6 and "the registry has not been reconciled yet" in unreconciled.err
    listing = home / "список.csv"  # the region's list lacks Школа № 3: a request to remove it
    listing.write_text("ИНН;КПП;Наименование;Муниципалитет\n;;Школа № 1;M1\n;;Школа № 2;M1\n",
                       encoding="utf-8")
    assert run(capsys, "reconcile", "--region", "77", str(listing)).code == 0
    shown = run(capsys, "letter", "registry", "--region", "77")
    assert "- удалить: Школа № 3" in shown.out and "registry-request-77-1.xlsx" in shown.out
    sent = run(capsys, "letter", "registry", "--region", "77", "--send", "--as", "rc@example.org",
            "--at", "2026-03-17T10:00:00+03:00")
    assert sent.code == 0
    listed = json.loads(run(capsys, "outbox", "list", "--json").out)
    assert [(m["to"], m["status"], m["attempts"]) for m in listed] == [
        (["support@example.org"], "queued", 0)]


def test_remind_then_send_writes_eml_files(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`remind --at` queues the due reminders; `outbox send` writes them as .eml files."""
    out = run(capsys, "remind", "--at", AT, "--json")
    assert out.code == 0 and json.loads(out.out)["reminders"] == 3
    assert json.loads(run(capsys, "remind", "--at", AT, "--json").out)["reminders"] == 0
    queued = json.loads(run(capsys, "outbox", "list", "--json").out)  # rendered when sent,
    assert [m["subject"] for m in queued] == [  # but listed with their subjects already
        "Напоминание: истёк срок выполнения 2 шагов внедрения ФГИС «Моя школа»"] * 3
    assert run(capsys, "outbox", "send", "--at", AT).code == 0
    assert len(list((home / "mail").glob("*.eml"))) == 3
    assert {m["status"] for m in json.loads(run(capsys, "outbox", "list", "--json").out)} == {
        "sent"}
    assert run(capsys, "remind", "--at", "tomorrow").code == 2


def test_kill_9_mid_batch_loses_nothing(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A relay killed mid-batch loses nothing; a message sent twice keeps its Message-ID."""
    for _ in range(10):
        run(capsys, "letter", "coordinator", "--region", "77", "--send", "--as", "rc@example.org",
            "--at", "2026-03-17T10:00:00+03:00")
    with smtp_server(SlowHandler()) as (h, port):
        use_smtp(home, port)
        proc = spawn(["outbox", "send", "--at", AT], cwd=home)
        deadline = time.monotonic() + 20
        while len(h.received) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        later = run(capsys, "outbox", "send", "--at", "2026-03-18T11:00:00+03:00")
        assert later.code == 0
    ids = h.message_ids()
    listed = json.loads(run(capsys, "outbox", "list", "--json").out)
    assert {m["status"] for m in listed} == {"sent"}
    assert set(ids) == {m["message_id"] for m in listed}  # every message arrived
    assert len(ids) - len(set(ids)) <= 4  # at most those in flight (one per connection) twice


def test_run_serves_and_stops_on_sigterm(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`run` delivers the outbox; a second `run` waits as standby; SIGTERM exits 0."""
    run(capsys, "letter", "coordinator", "--region", "77", "--send", "--as", "rc@example.org",
            "--at", "2026-03-17T10:00:00+03:00")
    logs = [home / "first.log", home / "second.log"]
    first = service(home, logs[0])
    wait_for(lambda: len(list((home / "mail").glob("*.eml"))) == 4)
    second = service(home, logs[1])
    wait_for(lambda: "standby" in logs[1].read_text())
    for p in (second, first):
        p.send_signal(signal.SIGTERM)
    assert (first.wait(timeout=20), second.wait(timeout=20)) == (0, 0)
    err1, err2 = (log.read_text() for log in logs)
    assert len(list((home / "mail").glob("*.eml"))) == 4  # the letter and three reminders
    assert "sent #1 coordinator" in err1
    assert "standby" in err2
