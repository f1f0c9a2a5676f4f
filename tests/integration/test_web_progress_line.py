"""The progress line of a region's page is replayed from the history once, then only from the
events appended since; it is always the line a whole replay draws."""

from __future__ import annotations

from datetime import date

from tests.builders import SUPPORT, World
from web import progress

RC = "rc@region07.ru"


def line(world: World, municipality: str | None = None, *, fresh: bool = False
         ) -> list[tuple[date, float]]:
    """The line as the page draws it (`fresh`: replayed from the first event, no memory)."""
    if fresh:
        progress._REPLAYS.clear()
    n = 2 if municipality == "0702" else 1 if municipality else 3
    with world.services.db.read() as conn:
        return progress.progress_over_time(conn, "07", n, "Europe/Moscow", municipality)


def test_the_line_follows_new_events_as_a_whole_replay_draws_it(world: World) -> None:
    """Steps done on day 1, one reopened on day 2 (the schools give steps back), done again on
    day 3: each time the remembered line, brought up to date, is the whole replay's."""
    w = world.standard()
    w.services.advance("region", "07", "coordinator", SUPPORT, w.now)
    w.reconciled("07")
    w.services.advance("region", "07", "registry", RC, w.now)
    first = line(w)
    assert first == line(w, fresh=True) and len(first) == 1 and first[0][1] > 0
    w.tick(days=1)
    w.services.reopen("region", "07", "registry", RC, w.now, "the registry was incomplete")
    second = line(w)
    assert second == line(w, fresh=True) and len(second) == 2
    assert second[1][1] < second[0][1]  # the reopen took steps back
    for muni in (None, "0701", "0702"):
        line(w, muni)  # the page shown before the next day's events
    w.tick(days=1)
    w.services.advance("region", "07", "registry", RC, w.now)
    third = {m: line(w, m) for m in (None, "0701", "0702")}
    assert third == {m: line(w, m, fresh=True) for m in (None, "0701", "0702")}
    assert len(third[None]) == 3 and third[None][-1][1] == first[0][1]  # back to day 1's


def test_another_database_at_the_same_address_is_replayed_anew(world: World) -> None:
    """A database replaced at the same address (a restored backup, a test's new file): the
    remembered replay's last event is not there under its hash, so the line is drawn anew."""
    w = world.standard()
    w.services.advance("region", "07", "coordinator", SUPPORT, w.now)
    before = line(w)
    assert before
    with w.services.db.write() as conn:  # what a restored older backup looks like
        conn.exec_driver_sql("DELETE FROM events WHERE seq > 1")
    assert line(w) == line(w, fresh=True) == []
