"""kill -9 at seeded moments of imports, cascades, reminder passes and the relay (real `rollout`
processes, SQLite file and PostgreSQL): nothing half done, nothing acknowledged lost, a re-run
completes the work, and mail is duplicated only in SMTP's window, with the same Message-ID.

ROLLOUT_KILLS (default 2) sets the kills per kind of job (the reminder pass and the relay get
half as many each, one per simulated week), ROLLOUT_KILL_SEED the moments; run with `-s` to see
where the kills landed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import assignments, metrics, schools
from storage.outbox import outbox, reminder_keys
from tests.builders import World
from tests.e2e.cli import Result, run
from tests.faultkit import (
    CONNECTIONS,
    KILLS,
    MUNICIPALITY,
    RC,
    REGION,
    Killer,
    Tally,
    build_region,
    check_sound,
    count,
    people_rows,
    school_rows,
    write_config,
)
from tests.mailkit import smtp_server

ROWS = 200  # rows per imported file: enough work for a kill to land in
SCHOOLS = 100  # schools of the region whose step 3 cascades (and whose admins are late)
ADMINS = 40  # school admins who get reminders: a relay run of a second or two (30 a second)
AT = "2026-09-01T10:00:00+03:00"
REMIND_AT = datetime.fromisoformat("2026-09-22T10:00:00+03:00")  # three weeks late, a Tuesday


@dataclass
class Campaign:
    world: World
    killer: Killer
    cli: Any  # (*args) -> Result, in this process, as an operator re-runs a command

    def cli_ok(self, *args: str) -> Result:
        result = self.cli(*args)
        assert result.code == 0, (args, result.out, result.err)
        return result


@pytest.fixture
def campaign(world: World, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A factory: the campaign's config (SMTP on a port, or file mail), its killer and CLI."""
    monkeypatch.setenv("ROLLOUT_DATABASE_URL", db_url)

    killers: list[Killer] = []

    def make(smtp_port: int | None = None) -> Campaign:
        cfg = write_config(tmp_path, smtp_port)
        killers.append(Killer(cfg, db_url, tmp_path))
        return Campaign(world, killers[-1], lambda *a: run(capsys, "--config", str(cfg), *a))

    yield make
    for k in killers:
        k.close()


def report(*tallies: Tally) -> None:
    for t in tallies:
        print(f"\n[fault campaign] {t.line()}")


def _import_files(world: World, batch: int) -> list[tuple[str, Path, Any, int]]:
    """Three files of one batch, in the order they can go in: kind, path, a count of their
    rows found in the database, and how many rows they have."""
    prefix = f"B{batch}S"
    rows = school_rows(ROWS, prefix)
    codes = [r["code"] for r in rows]
    people = [dict(p, email=p["email"].replace("admin", f"admin.b{batch}."))
              for p in people_rows(ROWS, prefix)]
    admins = [p["email"] for p in people if p["role"] == "school_admin"]
    s = world.services
    return [
        ("schools", world.write_csv(rows), lambda: count(s, schools, schools.c.code.in_(codes)),
         ROWS),
        ("people", world.write_csv(people),
         lambda: count(s, assignments, assignments.c.email.in_(admins)), ROWS),
        ("metrics", world.write_csv([{"school": c, "teachers": 40, "classes": 3} for c in codes]),
         lambda: count(s, metrics, metrics.c.school_code.in_(codes), metrics.c.teachers == 40),
         ROWS),
    ]


def test_imports_are_all_or_nothing_under_kill_9(campaign: Any) -> None:
    """Each killed import left every row of its file in or none; re-running completes it, and
    a third run changes nothing."""
    c: Campaign = campaign()
    c.world.region(REGION, "Москва")
    c.world.municipality(MUNICIPALITY, REGION, "Район 1")
    tally = Tally("import")
    files: list[tuple[str, Path, Any, int]] = []
    done = 0
    for _ in range(KILLS):
        if done == len(files):
            files += _import_files(c.world, len(files) // 3)
        kind, path, found, rows = files[done]
        kill = c.killer.kill(tally, ["import", kind, str(path), "--at", AT])
        check_sound(c.world.services, c.cli)
        n = found()
        assert n in (0, rows), f"{kind} {path.name}: {n} of {rows} rows after kill -9"
        tally.settle(kill, committed=bool(n))
        if n:
            done += 1
    for kind, path, found, rows in files[done:]:
        c.cli_ok("import", kind, str(path), "--at", AT)
        assert found() == rows
    for kind, path, _, _ in files:  # importing a file again updates nothing
        assert " 0 created, 0 updated," in c.cli_ok("import", kind, str(path), "--at", AT).out
    check_sound(c.world.services, c.cli)
    report(tally)


def test_cascades_are_all_or_nothing_under_kill_9(campaign: Any) -> None:
    """A region's step 3, advanced and reopened under kill -9: the region and every one of its
    schools moved together or not at all; re-running the command finishes the cascade."""
    c: Campaign = campaign()
    build_region(c.world, SCHOOLS, SCHOOLS)
    tally = Tally("cascade")
    for i in range(KILLS):
        region = c.world.status("region", REGION)["steps"]["municipalities"]
        args = ["advance"] if region == "current" else \
            ["reopen", "--reason", f"проверка {i}"]
        kill = c.killer.kill(tally, [*args, "--region", REGION, "--step", "municipalities",
                                       "--as", RC, "--at", AT])
        by_code = check_sound(c.world.services, c.cli)
        school_codes = {code for (kind, code), _ in by_code.items() if kind == "school"}
        [region_code] = [code for (kind, code), _ in by_code.items() if kind == "region"]
        assert len(school_codes) == 1, f"schools split after kill -9: {by_code}"
        assert region_code[2] == school_codes.pop()[2], by_code  # step 3 mirrored, or not
        moved = (region_code[2] == "D") != (region == "done")
        tally.settle(kill, committed=moved)
    if c.world.status("region", REGION)["steps"]["municipalities"] == "current":
        c.cli_ok("advance", "--region", REGION, "--step", "municipalities", "--as", RC,
                 "--at", AT)
    by_code = check_sound(c.world.services, c.cli)
    assert by_code[("school", "DDDDCCPPP")] == SCHOOLS, by_code
    report(tally)


def _outbox_state(world: World) -> tuple[int, int]:
    return count(world.services, outbox), count(world.services, reminder_keys)


def _recipients_of_pass(world: World, at: datetime) -> Counter[str]:
    with world.services.db.read() as conn:
        rows = conn.execute(select(outbox.c.recipients).where(outbox.c.created_at == at))
        return Counter(a for (r,) in rows for _, a in r["to"])


def _remind(c: Campaign, tally: Tally, at: datetime) -> None:
    """Kill a reminder pass; it queued all or nothing; re-run it; a third run queues nothing."""
    before = _outbox_state(c.world)
    kill = c.killer.kill(tally, ["remind", "--at", at.isoformat()])
    check_sound(c.world.services, c.cli)
    after_kill = _outbox_state(c.world)
    c.cli_ok("remind", "--at", at.isoformat())
    full = _outbox_state(c.world)
    assert full[0] > before[0] and full[1] > before[1], "nothing was due: the pass proved nothing"
    assert after_kill in (before, full), (before, after_kill, full)
    tally.settle(kill, committed=after_kill == full)
    again = c.cli_ok("remind", "--at", at.isoformat())
    assert again.out.startswith("queued 0 reminders and 0 escalations"), again.out
    assert _outbox_state(c.world) == full
    twice = [a for a, n in _recipients_of_pass(c.world, at).items() if n > 1]
    assert not twice, f"one pass wrote to {twice} twice"


def _statuses(world: World) -> dict[str, tuple[str, int]]:
    with world.services.db.read() as conn:
        return {r.message_id: (r.status, r.attempts) for r in
                conn.execute(select(outbox.c.message_id, outbox.c.status, outbox.c.attempts))}


def _relay(c: Campaign, tally: Tally, handler: Any, at: datetime) -> None:
    """Kill the relay mid-batch: every message marked sent reached the server; the re-run
    delivers the rest, and only those in flight at the kill (one per connection) arrive twice
    (same Message-ID)."""
    batch = {m for m, (s, _) in _statuses(c.world).items() if s == "queued"}
    seen_before = Counter(handler.message_ids())
    kill = c.killer.kill(tally, ["outbox", "send", "--at", at.isoformat()])
    check_sound(c.world.services, c.cli)
    status = _statuses(c.world)
    received = Counter(handler.message_ids()) - seen_before
    assert set(received) <= batch, "the server got a message that was not due"
    lost = [m for m in batch if status[m][0] == "sent" and m not in received]
    assert not lost, f"marked sent, never received: {lost[:3]}"
    in_flight = {m for m in received if status[m][0] == "queued"}
    assert len(in_flight) <= CONNECTIONS, in_flight  # one message at a time per connection
    sent = sum(status[m][0] == "sent" for m in batch)
    tally.settle(kill, committed=sent > 0, said=("some sent before the kill", "none sent"))
    if kill.killed:
        tally.outcome["messages marked sent before a kill"] += sent
        tally.outcome["in flight at a kill (received, not marked)"] += len(in_flight)
    c.cli_ok("outbox", "send", "--at", (at + timedelta(minutes=15)).isoformat())  # leases over
    status = _statuses(c.world)
    assert {s for s, _ in status.values()} == {"sent"}, Counter(s for s, _ in status.values())
    received = Counter(handler.message_ids()) - seen_before
    assert set(received) == batch, "a queued message never arrived"
    twice = {m for m, n in received.items() if n > 1}
    assert max(received.values()) <= 2 and twice <= in_flight, (twice, in_flight)
    tally.outcome["delivered twice, same Message-ID"] += len(twice)


def test_reminder_passes_and_the_relay_under_kill_9(campaign: Any) -> None:
    """Each week: a reminder pass and then the relay, both killed; the pass queues each reminder
    once, the relay delivers each message once, or twice with one Message-ID if in flight."""
    with smtp_server() as (handler, port):
        c: Campaign = campaign(port)
        build_region(c.world, SCHOOLS, ADMINS)
        c.world.services.advance("region", REGION, "municipalities", RC, c.world.now)
        reminders, relay = Tally("reminder pass"), Tally("relay")
        for week in range(max(1, KILLS // 2)):  # two kills a week: the pass and the relay
            at = REMIND_AT + timedelta(days=7 * week)
            _remind(c, reminders, at)
            _relay(c, relay, handler, at + timedelta(hours=1))
    report(reminders, relay)
