"""`rollout token create|revoke`: printed once, stored hashed, recorded in the history."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from storage import history
from storage.tokens import access_tokens
from tests import dashkit
from web.access import authenticate
from workflow.cli import main


@pytest.fixture
def rollout(tmp_path: Path) -> dashkit.Rollout:
    r = dashkit.seed(tmp_path)
    (tmp_path / "config.yaml").write_text(
        f"database:\n  url: sqlite:///{tmp_path / 'rollout.db'}\n", encoding="utf-8")
    return r


def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(tmp_path / "config.yaml"), *args])
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_token_create_prints_token_alone_on_last_line_and_stores_only_a_hash(
        rollout: dashkit.Rollout, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The token is the last line of the output; the database holds its hash, not the secret."""
    code, out, _ = run(tmp_path, capsys, "token", "create", "--email", "PM@example.org",
                       "--at", "2026-03-02T09:00:00+03:00")
    assert code == 0
    token = out.strip().splitlines()[-1]
    key_id, _, secret = token.partition(".")
    assert key_id and len(secret) >= 40
    with rollout.services.db.read() as conn:
        rows = conn.execute(select(access_tokens).where(
            access_tokens.c.email == "pm@example.org")).all()
        assert len(rows) == 1 and secret not in str(tuple(rows[0]))
        assert authenticate(conn, token, dashkit.NOW).email == "pm@example.org"
        assert authenticate(conn, rollout.tokens["pm@example.org"], dashkit.NOW) is None  # replaced


def test_token_revoke_removes_access_and_is_recorded(
        rollout: dashkit.Rollout, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """After revoke the token no longer signs in; TokenCreated and TokenRevoked are on record."""
    code, out, _ = run(tmp_path, capsys, "token", "revoke", "--email", "auditor@example.org")
    assert code == 0 and "revoked 1" in out
    with rollout.services.db.read() as conn:
        assert authenticate(conn, rollout.tokens["auditor@example.org"], dashkit.NOW) is None
        events = [e["event"] for e in history.iter_all(conn)]
        assert "TokenCreated" in events and events[-1] == "TokenRevoked"
        assert history.verify(conn) == len(events)


def test_token_for_an_unknown_person_exits_6(
        rollout: dashkit.Rollout, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A token can only be made for someone in people; otherwise exit 6 and nothing is written."""
    code, _, err = run(tmp_path, capsys, "token", "create", "--email", "nobody@example.org")
    assert code == 6 and "nobody@example.org" in err
    with rollout.services.db.read() as conn:
        assert not conn.execute(select(access_tokens).where(
            access_tokens.c.email == "nobody@example.org")).all()


@pytest.mark.parametrize("bad", ["", "nodot", "abc.", ".secret", "x" * 300,
                                 "0000.wrong-secret"])
def test_malformed_or_wrong_tokens_are_refused(rollout: dashkit.Rollout, bad: str) -> None:
    """Only a stored key id with its exact secret authenticates."""
    with rollout.services.db.read() as conn:
        assert authenticate(conn, bad, dashkit.NOW) is None
        key_id = rollout.tokens["pm@example.org"].split(".")[0]
        assert authenticate(conn, f"{key_id}.not-the-secret", dashkit.NOW) is None
