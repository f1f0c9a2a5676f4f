"""Access tokens expire (`token create --days N`, default 90); HSTS over HTTPS only."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from storage.tokens import access_tokens
from tests import dashkit
from web import create_app
from workflow.cli import main

PM = "pm@example.org"


@pytest.fixture
def rollout(tmp_path: Path) -> dashkit.Rollout:
    r = dashkit.seed(tmp_path)
    (tmp_path / "config.yaml").write_text(
        f"database:\n  url: sqlite:///{tmp_path / 'rollout.db'}\n", encoding="utf-8")
    return r


class Clock:
    """The moment the served pages see; the test moves it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def status_at(rollout: dashkit.Rollout, token: str, moments: list[datetime]) -> list[int]:
    clock = Clock(moments[0])
    codes = []
    with dashkit.running(create_app(rollout.services, clock)) as base, \
            httpx.Client(base_url=base) as client:
        for moment in moments:
            clock.at = moment
            codes.append(client.get("/api/report",
                                    headers={"Authorization": f"Bearer {token}"}).status_code)
    return codes


def test_a_token_lasts_the_days_asked_for(rollout: dashkit.Rollout, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """`token create --days 7` says until when; a day before it works, a day after it is 401."""
    with pytest.raises(SystemExit) as info:
        main(["--config", str(tmp_path / "config.yaml"), "token", "create", "--email", PM,
              "--days", "7", "--at", "2026-03-02T09:00:00+03:00"])
    out = capsys.readouterr().out
    assert info.value.code in (0, None)
    assert "valid until 09.03.2026 06:00 UTC" in out
    token = out.strip().splitlines()[-1]
    made = dashkit.NOW
    assert status_at(rollout, token, [made + timedelta(days=6), made + timedelta(days=8)]) == [
        200, 401]


def test_by_default_a_token_lasts_90_days(rollout: dashkit.Rollout) -> None:
    """dashkit's tokens are made on 3 February: fine in March, refused after 90 days."""
    made = dashkit.at(3, 2)
    assert status_at(rollout, rollout.tokens[PM], [made + timedelta(days=89),
                                                   made + timedelta(days=91)]) == [200, 401]


def test_a_token_from_before_expiry_existed_lasts_90_days_too(rollout: dashkit.Rollout) -> None:
    """A token stored without expires_at (made before the migration) expires like a new one."""
    with rollout.services.db.write() as conn:
        conn.execute(update(access_tokens).values(expires_at=None))
    made = dashkit.at(3, 2)
    assert status_at(rollout, rollout.tokens[PM], [made + timedelta(days=89),
                                                   made + timedelta(days=91)]) == [200, 401]


def test_hsts_is_sent_over_https_only(rollout: dashkit.Rollout) -> None:
    """Strict-Transport-Security on every HTTPS response (401 included), never over HTTP."""
    app = create_app(rollout.services, lambda: dashkit.NOW)

    async def get(base: str, token: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url=base) as client:
            return await client.get("/api/report", headers=headers)

    for token, code in ((rollout.tokens[PM], 200), (None, 401)):
        secure = asyncio.run(get("https://rollout.example.org", token))
        plain = asyncio.run(get("http://rollout.example.org", token))
        assert (secure.status_code, plain.status_code) == (code, code)
        assert secure.headers["strict-transport-security"] == "max-age=31536000"
        assert "strict-transport-security" not in plain.headers
