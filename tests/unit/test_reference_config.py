"""config.yaml at the repository root is the reference: every key at its default."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from workflow.config import SHAPE, build, load

ROOT = Path(__file__).resolve().parents[2]


def keys(node: object, prefix: str = "") -> set[str]:
    if not isinstance(node, dict):
        return {prefix.rstrip(".")}
    return {k for key, value in node.items() for k in keys(value, f"{prefix}{key}.")}


def test_the_reference_configuration_equals_the_built_in_defaults() -> None:
    """Loading the root config.yaml gives exactly what no file at all gives."""
    loaded = load(ROOT / "config.yaml", env={})
    default = build({}, ROOT)
    assert loaded.steps == default.steps
    assert loaded.mail == default.mail and loaded.reminders == default.reminders
    assert loaded.database_url == default.database_url
    assert (loaded.synchronous, loaded.base_url) == (default.synchronous, default.base_url)


def test_the_reference_configuration_shows_every_key() -> None:
    """Every key the configuration may hold is in the file (mail.templates as a comment)."""
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    missing = keys(SHAPE) - keys(raw)
    assert missing == {"mail.templates"}
    assert "# templates:" in (ROOT / "config.yaml").read_text(encoding="utf-8")


def test_init_writes_the_reference_where_there_is_none(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    """`rollout init` in an empty folder leaves the reference config.yaml beside the database."""
    from tests.e2e.cli import run

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ROLLOUT_CONFIG", raising=False)
    monkeypatch.delenv("ROLLOUT_DATABASE_URL", raising=False)
    assert run(capsys, "init").code == 0
    assert (tmp_path / "config.yaml").read_text(encoding="utf-8") == (
        ROOT / "config.yaml").read_text(encoding="utf-8")
    assert (tmp_path / "rollout.db").exists()
