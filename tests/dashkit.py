"""A small, deterministic rollout for the dashboard tests: three regions, five schools.

Seeded through storage inserts and moved through Services (advance, assign), at fixed moments.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from storage.models import assignments, metrics, municipalities, people, regions, schools
from storage.repo import insert_new_machines
from web.access import create_token
from workflow.config import build
from workflow.engine import new_machine_values
from workflow.reconcile import reconcile_as_registered
from workflow.services import Services

START = datetime(2026, 1, 12, 7, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PEOPLE = {  # email -> (name, role, scope)
    "support@example.org": ("Сергеев Сергей", "support", ""),
    "pm@example.org": ("Петрова Полина", "program_manager", ""),
    "auditor@example.org": ("Аудиторов Андрей", "auditor", ""),
    "rc01@example.org": ("Регионова Римма", "regional_coordinator", "01"),
    "rc77@example.org": ("Москвин Максим", "regional_coordinator", "77"),
}


@dataclass
class Rollout:
    services: Services
    tokens: dict[str, str]  # email -> token


def at(day: int, month: int = 1) -> datetime:
    return datetime(2026, month, day, 7, 0, tzinfo=UTC)


def make_services(tmp_path: Path, url: str | None = None) -> Services:
    url = url or f"sqlite:///{tmp_path / 'rollout.db'}"
    config = build({"database": {"url": url}}, tmp_path)
    services = Services(config)
    services.db.clock = lambda: NOW  # events' real time: fixed, so both databases hash alike
    services.db.migrate()
    return services


def _school(code: str, region: str, muni: str | None, name: str, teachers: int = 0) -> dict:
    return {"code": code, "region_code": region, "municipality_code": muni, "name": name,
            "teachers_expected": teachers, "classes_expected": 0, "students_expected": 0,
            "parents_expected": 0}


def seed(tmp_path: Path, url: str | None = None) -> Rollout:
    """Region 01 at step 5 (one school done, one short of teachers, two without an admin);
    region 77 waiting for its coordinator; region 02 without schools."""
    services = make_services(tmp_path, url)
    with services.db.write() as conn:
        conn.execute(insert(regions), [
            {"code": "01", "name": "Республика Адыгея", "timezone": "Europe/Moscow"},
            {"code": "02", "name": "Республика Башкортостан", "timezone": "Asia/Yekaterinburg"},
            {"code": "77", "name": "Москва", "timezone": "Europe/Moscow"}])
        conn.execute(insert(municipalities), [
            {"code": "01-001", "region_code": "01", "name": "Майкоп", "timezone": None},
            {"code": "01-002", "region_code": "01", "name": "Адыгейск", "timezone": None}])
        conn.execute(insert(schools), [
            _school("0100001", "01", "01-001", "Школа № 1 г. Майкопа"),
            _school("0100002", "01", "01-001", "Школа № 2 г. Майкопа", teachers=40),
            _school("0100003", "01", "01-002", "Лицей <Адыгейск> & Ко"),
            _school("0100004", "01", "01-002", "Школа № 4 г. Адыгейска"),
            _school("7700001", "77", None, "Школа № 1 Москвы")])
        conn.execute(insert(metrics), [{"school_code": "0100002", "teachers": 12, "classes": 0,
                                        "parents": 0, "students": 0, "updated_at": START}])
        conn.execute(insert(people), [{"email": e, "name": n, "position": None,
                                       "phone": "+7 900 000-00-00"}
                                      for e, (n, _, _) in PEOPLE.items()])
        conn.execute(insert(assignments), [{"email": e, "role": r, "scope": s, "since": START}
                                           for e, (_, r, s) in PEOPLE.items()])
        insert_new_machines(conn, "region", [(c, c) for c in ("01", "02", "77")],
                            new_machine_values(START))
        insert_new_machines(conn, "school", [
            ("0100001", "01"), ("0100002", "01"), ("0100003", "01"), ("0100004", "01"),
            ("7700001", "77")], new_machine_values(START))
    s = services
    s.advance("region", "01", "coordinator", "support@example.org", at(13))
    reconcile_as_registered(s, "01", at(15))
    s.advance("region", "01", "registry", "rc01@example.org", at(15))
    s.assign("municipal_coordinator", "01-001", "mc1@example.org", "Муниципов Михаил",
             "rc01@example.org", at(16), phone="+7 900 111-11-11")
    s.assign("municipal_coordinator", "01-002", "mc2@example.org", "Адыгова Алла",
             "rc01@example.org", at(16))
    s.advance("region", "01", "municipalities", "rc01@example.org", at(19))
    s.assign("school_admin", "0100001", "admin1@example.org", "Админова Анна",
             "mc1@example.org", at(20), phone="+7 900 222-22-22")
    s.assign("school_admin", "0100002", "admin2@example.org", "Школьный Семён",
             "mc1@example.org", at(21))
    s.advance("school", "0100001", "adoption", "admin1@example.org", at(2, 2))
    emails = list(PEOPLE) + ["mc1@example.org", "mc2@example.org", "admin1@example.org"]
    tokens = {e: create_token(services, e, at(3, 2)) for e in emails}
    return Rollout(services, tokens)


@contextmanager
def running(app: object) -> Iterator[str]:
    """Serve `app` with uvicorn on a free port of 127.0.0.1 in a thread; yields the base URL."""
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        thread.join(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
