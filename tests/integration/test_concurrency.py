"""Concurrent `rollout advance` from several processes: a step completes exactly once."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from storage.models import events
from tests.builders import SUPPORT, World
from tests.e2e.cli import spawn

PROCESSES = 6


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text("mail: {transport: file}\n", encoding="utf-8")
    return path


def test_one_step_many_processes(world: World, db_url: str, tmp_path: Path) -> None:
    """Six processes advance one step: one completes it, the others get 3 or 5, none locked."""
    world.standard()
    cfg = _config(tmp_path)
    env = {"ROLLOUT_DATABASE_URL": db_url}
    args = ["--config", str(cfg), "advance", "--region", "07", "--step", "coordinator",
            "--as", SUPPORT, "--at", "2026-09-01T10:00:00+03:00"]
    procs = [spawn(args, tmp_path, env) for _ in range(PROCESSES)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes.count(0) == 1, results
    assert set(codes) <= {0, 3, 5}, results
    assert not any("locked" in err for _, _, err in results), results
    with world.services.db.read() as conn:
        completed = conn.execute(select(func.count()).select_from(events).where(
            events.c.event == "StepCompleted", events.c.kind == "region",
            events.c.step == "coordinator")).scalar_one()
    assert completed == 1
    assert world.status("region", "07")["state"] == "registry"


def test_many_schools_many_processes(world: World, db_url: str, tmp_path: Path) -> None:
    """Processes advancing different schools at once all succeed: writers wait, none fails."""
    world.standard().through_step3()
    codes = [f"P{i}" for i in range(PROCESSES)]
    for code in codes:
        world.school(code, "07", "0701", teachers=0, classes=0, students=0)
        world.services.assign("school_admin", code, f"a.{code.lower()}@s.ru", "Админ",
                              "rc@region07.ru", world.now)
    assert {world.status("school", c)["state"] for c in codes} == {"adoption"}
    cfg = _config(tmp_path)
    procs = [spawn(["--config", str(cfg), "advance", "--school", code, "--step", "adoption",
                    "--as", f"a.{code.lower()}@s.ru", "--at", "2026-09-02T10:00:00+03:00"],
                   tmp_path, {"ROLLOUT_DATABASE_URL": db_url}) for code in codes]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    assert [code for code, _, _ in results] == [0] * PROCESSES, results
    assert {world.status("school", c)["state"] for c in codes} == {"done"}
    with world.services.db.read() as conn:
        from storage import history

        assert history.verify(conn) > 0
