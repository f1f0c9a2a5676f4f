"""The dashboard and its API on PostgreSQL answer exactly as on SQLite for the same data."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests import dashkit
from web import create_app

PATHS = ["/", "/regions/01", "/schools/0100003", "/municipalities/01-001", "/history",
         "/trends", "/regions/01/trends"]
API = ["/api/report", "/api/regions/01", "/api/schools/0100003", "/api/audit?school=0100003",
       "/api/map", "/api/map?by=progress"]
EXPORTS = ["/export/regions.csv?late=1", "/export/regions/01/schools.csv"]


def _answers(tmp: Path, url: str | None) -> dict[str, tuple[int, object]]:
    tmp.mkdir()
    rollout = dashkit.seed(tmp, url)
    token = {"Cookie": f"rollout_token={rollout.tokens['pm@example.org']}"}
    out: dict[str, tuple[int, object]] = {}
    with dashkit.running(create_app(rollout.services, lambda: dashkit.NOW)) as base, \
            httpx.Client(base_url=base) as client:
        for path in PATHS:
            r = client.get(path, headers=token)
            out[path] = (r.status_code, len(r.text) > 500)
        for path in API:
            r = client.get(path, headers=token)
            out[path] = (r.status_code, r.json())
        for path in EXPORTS:
            r = client.get(path, headers=token)
            out[path] = (r.status_code, r.text)
    rollout.services.db.dispose()
    return out


@pytest.mark.postgres
def test_pages_and_api_match_sqlite(pg_url: str, tmp_path: Path) -> None:
    """Every page answers 200 on PostgreSQL and every API answer equals SQLite's."""
    on_sqlite = _answers(tmp_path / "sqlite", None)
    on_postgres = _answers(tmp_path / "postgres", pg_url)
    assert all(code == 200 for code, _ in on_postgres.values()), on_postgres
    for path in API + EXPORTS:
        assert on_postgres[path] == on_sqlite[path], path
