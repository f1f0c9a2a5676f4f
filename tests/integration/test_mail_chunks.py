"""The reminder pass in chunks: killed (SIGKILL) between two chunks and run again, it queues
every letter once and misses none; a letter rendered at delivery is, byte for byte, the letter
the pass used to render and store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import func, select

from benchmarks.bench_mail import AT
from benchmarks.bench_mail import load as load_national
from notifications import outbox as outbox_mod
from notifications.errors import WriterStopped
from notifications.letters import links
from notifications.message import build
from notifications.relay import deliver
from notifications.reminders import plan_pass, run_pass
from notifications.render import templates
from notifications.sender import FILE_POLICY
from storage import Database
from storage.models import events
from storage.outbox import outbox, reminder_keys
from tests.mailkit import POLICIES, REMINDERS, mail_settings, new_db, seed

ROOT = Path(__file__).resolve().parents[2]
DAY17 = AT.replace(year=2026, month=3, day=25, hour=7)  # Wed 25 March: escalations due too
# Runs a pass with chunks of two letters and kills its own process (kill -9) right after the
# first chunk has committed: what a crash or an OOM kill between two chunks leaves behind.
DIE_AFTER_FIRST_CHUNK = """
import os, signal, sys
from datetime import datetime
from email import message_from_bytes
from pathlib import Path
from notifications.reminders import run_pass
from storage import Database
from tests.mailkit import POLICIES, REMINDERS, mail_settings

def die(n):
    if n == 1:
        os.kill(os.getpid(), signal.SIGKILL)

run_pass(Database(sys.argv[1]), datetime.fromisoformat(sys.argv[2]),
         mail_settings(Path(sys.argv[3])), REMINDERS, POLICIES, chunk=2, after_chunk=die,
         second_process=sys.argv[4] == "yes")
"""


def unbound(raw: bytes) -> bytes:
    """The message with its MIME boundary (random at every build, a retry's too) made fixed."""
    boundary = message_from_bytes(raw).get_boundary()
    assert boundary
    return raw.replace(boundary.encode(), b"BOUNDARY")


def keys(db: Database) -> list[tuple]:
    with db.read() as conn:
        q = select(reminder_keys.c.machine_id, reminder_keys.c.step, reminder_keys.c.email,
                   reminder_keys.c.period, reminder_keys.c.level)
        return sorted(tuple(r) for r in conn.execute(q))


def letters(db: Database) -> list[tuple[str, str]]:
    """(recipient, kind) of every queued letter, sorted."""
    with db.read() as conn:
        rows = conn.execute(select(outbox.c.recipients, outbox.c.kind)).all()
    return sorted((r.recipients["to"][0][1], r.kind) for r in rows)


@pytest.mark.parametrize("second_process", [False, True], ids=["one process", "two"])
def test_a_pass_killed_between_chunks_resumes_sending_nothing_twice(
        db_url: str, tmp_path: Path, second_process: bool) -> None:
    """kill -9 after the first chunk: two letters are queued; the next pass queues exactly the
    others, and the result is what one uninterrupted pass queues on a twin database (chunks
    written by the pass itself, or by its second process: the killed pass's writer ends too)."""
    db = new_db(tmp_path, db_url)
    seed(db, schools_n=7)
    done = subprocess.run([sys.executable, "-c", DIE_AFTER_FIRST_CHUNK, db_url,
                           DAY17.isoformat(), str(tmp_path), "yes" if second_process else "no"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == -9, done.stderr
    assert len(letters(db)) == 2  # the first chunk committed, the second never began
    again = run_pass(db, DAY17 + timedelta(minutes=5), mail_settings(tmp_path), REMINDERS,
                     POLICIES, chunk=2, second_process=second_process)
    (tmp_path / "twin").mkdir()
    twin = new_db(tmp_path / "twin")
    seed(twin, schools_n=7)
    whole = run_pass(twin, DAY17, mail_settings(tmp_path), REMINDERS, POLICIES, chunk=2,
                     second_process=not second_process)
    assert again.reminders + again.escalations == whole.reminders + whole.escalations - 2
    assert again.already_sent > 0  # the killed pass's lines, recognised
    assert letters(db) == letters(twin)  # nobody twice, nobody missed
    assert len({to for to, _ in letters(db)}) == len(letters(db))
    assert keys(db) == keys(twin)
    with db.read() as conn:  # each chunk is on record with its figures
        parts = conn.execute(select(func.count()).where(
            events.c.event == "RemindersQueued")).scalar_one()
    assert parts == 1 + (len(letters(twin)) - 2 + 1) // 2
    db.dispose()
    twin.dispose()


def test_letters_rendered_at_delivery_are_the_letters_the_pass_rendered(tmp_path: Path) -> None:
    """For every letter of a pass over a sample of the national dataset (several zones,
    reminders and escalations, Cyrillic names, the guard's figures): the .eml the relay writes
    equals the message built from bodies rendered in the pass, as the previous release did
    (same context, same templates, same Message-ID and Date, both fixed at queueing; only the
    MIME boundary differs, as it differs at every build)."""
    db = new_db(tmp_path)
    load_national(db, 0.01)
    mail = mail_settings(tmp_path, transport="file")
    with db.read() as conn:
        _, plan = plan_pass(conn, AT, REMINDERS, POLICIES)
    assert plan is not None
    run_pass(db, AT, mail, REMINDERS, POLICIES)
    with db.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(outbox).order_by(outbox.c.id))]
    assert len(rows) > 100 and {r["kind"] for r in rows} == {"reminder", "escalation"}
    assert all(r["body_text"] == "" and r["context"] for r in rows)  # nothing rendered yet
    report = deliver(db, mail, AT)
    assert report.sent == len(rows)
    render = templates(None).batch()
    for row in rows:
        email = row["recipients"]["to"][0][1]
        letter = plan.letters[email]
        pairs = list(zip(letter.items, letter.lines, strict=True))
        own = [ln for it, ln in pairs if it.level == 0]
        rendered = render("reminder" if own else "escalation", {  # the previous release's way
            "person": {"name": letter.person.name, "email": email, "role": letter.person.role},
            "own": own, "escalated": [ln for it, ln in pairs if it.level > 0],
            "repeat_every_days": REMINDERS.repeat_every_days, "links": links(mail)})
        old = outbox_mod.message_row(rendered, [(letter.person.name, email)],
                                     sender=mail.sender, now=row["created_at"])
        old.update(message_id=row["message_id"])
        sent = (mail.dir / f"{row['id']:06d}.eml").read_bytes()
        assert unbound(sent) == unbound(build(old).as_bytes(policy=FILE_POLICY)), email
    with db.read() as conn:  # `outbox list` shows the subject rendered at delivery
        subjects = [r["subject"] for r in outbox_mod.listing(conn)]
    assert all(s.startswith(("Напоминание: ", "Контроль исполнения: ")) for s in subjects)
    db.dispose()


@pytest.mark.parametrize("second_process", [False, True], ids=["one process", "two"])
def test_a_pass_overtaken_between_its_chunks_queues_nothing_twice(tmp_path: Path,
                                                                   second_process: bool) -> None:
    """Another pass runs whole between two chunks of a first one (the first had already
    worked out what to send, and built its next chunk): the first one's later chunks find
    those lines queued, skip them and count them as already sent; every recipient has one
    letter."""
    db = new_db(tmp_path)
    seed(db, schools_n=7)
    other: list = []

    def overtaken(n: int) -> None:
        if n == 1:
            other.append(run_pass(db, DAY17, mail_settings(tmp_path), REMINDERS, POLICIES))

    first = run_pass(db, DAY17, mail_settings(tmp_path), REMINDERS, POLICIES, chunk=2,
                     after_chunk=overtaken, second_process=second_process)
    total = len(letters(db))
    assert first.reminders + first.escalations == 2 and first.already_sent > 0
    assert other[0].reminders + other[0].escalations == total - 2
    assert len({to for to, _ in letters(db)}) == total > 4
    db.dispose()


def test_an_override_broken_after_queueing_defers_until_it_is_fixed(tmp_path: Path) -> None:
    """Reminders queued with working templates; then the operator's override of the reminder
    breaks: delivery defers them naming the file and line (nothing half-sent, nothing failed
    for good); once the file is fixed they go out."""
    db = new_db(tmp_path)
    seed(db, schools_n=2)
    run_pass(db, DAY17 - timedelta(days=7), mail_settings(tmp_path), REMINDERS, POLICIES)
    overrides = tmp_path / "templates"
    overrides.mkdir()
    (overrides / "reminder.txt.j2").write_text("{% set subject = 'Тема' %}\n{{ nobody.name }}\n",
                                               encoding="utf-8")
    broken = replace(mail_settings(tmp_path, transport="file"), templates_dir=overrides)
    first = deliver(db, broken, DAY17)
    assert (first.sent, first.deferred, first.failed) == (0, 2, 0)
    assert "reminder.txt.j2, line 2" in str(first.lines[0])  # the Phrase, in English
    (overrides / "reminder.txt.j2").write_text("{% set subject = 'Тема' %}\n{{ person.name }}\n",
                                               encoding="utf-8")
    later = deliver(db, broken, DAY17 + timedelta(hours=2))
    assert later.sent == 2
    sent = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(sent) == 2 and b"Subject: =?utf-8?b?" in sent[0].read_bytes()
    db.dispose()


def _writer_processes() -> list[int]:
    """This process's children that are a reminder pass's second process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and b"notifications.queue_writer" in cmdline:
            found.append(int(entry.name))
    return found


def test_a_pass_whose_second_process_dies_says_so_and_the_next_pass_queues_the_rest(
        tmp_path: Path) -> None:
    """The second process that writes a big pass's chunks is killed after the first chunk:
    the pass stops saying so (what was written is queued, nothing is half-written) and the
    next pass queues exactly the rest, as on a twin database."""
    db = new_db(tmp_path)
    seed(db, schools_n=7)

    def kill_writer(n: int) -> None:
        if n == 1:
            writers = _writer_processes()
            assert len(writers) == 1
            os.kill(writers[0], signal.SIGKILL)

    with pytest.raises(WriterStopped) as stopped:
        run_pass(db, DAY17, mail_settings(tmp_path), REMINDERS, POLICIES, chunk=2,
                 after_chunk=kill_writer, second_process=True)
    assert "exit code -9" in str(stopped.value) and "run the pass again" in str(stopped.value)
    assert len(letters(db)) == 2 and _writer_processes() == []
    run_pass(db, DAY17 + timedelta(minutes=5), mail_settings(tmp_path), REMINDERS, POLICIES)
    (tmp_path / "twin").mkdir()
    twin = new_db(tmp_path / "twin")
    seed(twin, schools_n=7)
    run_pass(twin, DAY17, mail_settings(tmp_path), REMINDERS, POLICIES)
    assert letters(db) == letters(twin) and keys(db) == keys(twin)
    db.dispose()
    twin.dispose()
