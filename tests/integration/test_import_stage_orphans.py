"""An import killed with kill -9 cannot delete its staging folder; the next import does."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from workflow.importing.stage import PREFIX, Stage


def test_the_next_import_removes_the_stage_of_a_dead_import_and_keeps_a_live_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    orphan = tmp_path / f"{PREFIX}{dead.stdout.strip()}-x1y2"
    orphan.mkdir()
    (orphan / "stage.db").write_bytes(b"left by a killed import")
    live = tmp_path / f"{PREFIX}{os.getpid()}-a1b2"  # an import running in this process
    live.mkdir()
    unrelated = tmp_path / "rollout-import-notes"  # not a stage's name: never touched
    unrelated.mkdir()

    stage = Stage(["code"])
    try:
        assert not orphan.exists()
        assert live.exists() and unrelated.exists()
        own = [p for p in tmp_path.iterdir() if p not in (live, unrelated)]
        assert len(own) == 1 and own[0].name.startswith(f"{PREFIX}{os.getpid()}-")
    finally:
        stage.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, unrelated.name])
