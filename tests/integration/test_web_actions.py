"""Actions through the pages: CSRF, scope, every route × role, and the same history as the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from storage.models import assignments, events, machines
from tests import dashkit, webkit
from tests.e2e.cli import run
from tests.e2e.test_cli import AT, write
from web import create_app
from workflow.config import load
from workflow.services import Services

Served = tuple[str, dashkit.Rollout]
RC01, MC1, ADMIN1 = "rc01@example.org", "mc1@example.org", "admin1@example.org"
ROLES = ["support@example.org", "pm@example.org", "auditor@example.org", RC01, MC1, ADMIN1]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dashkit.Rollout]]:
    rollout = dashkit.seed(tmp_path)
    with dashkit.running(create_app(rollout.services, lambda: dashkit.NOW)) as base:
        yield base, rollout
    rollout.services.db.dispose()


def snapshot(rollout: dashkit.Rollout) -> tuple[Any, ...]:
    """Everything an action could change: events, machines, appointments."""
    with rollout.services.db.read() as conn:
        return (conn.execute(select(func.count()).select_from(events)).scalar_one(),
                sorted(conn.execute(select(machines.c.code, machines.c.version)).all()),
                sorted(conn.execute(select(assignments.c.email, assignments.c.scope)).all()))


def last_event(rollout: dashkit.Rollout) -> Any:
    with rollout.services.db.read() as conn:
        return conn.execute(select(events).order_by(events.c.seq.desc()).limit(1)).one()


def test_a_form_without_or_with_a_wrong_csrf_token_changes_nothing(served: Served) -> None:
    base, rollout = served
    form = {"role": "school_admin", "scope": "0100003", "email": "new@example.org",
            "name": "Новикова Нина", "back": "/"}
    with httpx.Client(base_url=base) as client:
        csrf = webkit.sign_in(client, rollout.services, RC01)
        before = snapshot(rollout)
        for token in (None, "", "x" * 43, csrf[:-1] + ("A" if csrf[-1] != "A" else "B")):
            data = form if token is None else {**form, "csrf": token}
            r = client.post("/people/assign", data=data)
            assert r.status_code == 403 and "ничего не изменено" in r.text
            r = client.post("/schools/0100003/steps/adoption/reopen",
                            data={"reason": "проверка", **({"csrf": token} if token else {})})
            assert r.status_code == 403
        assert snapshot(rollout) == before
        ok = client.post("/people/assign", data={**form, "csrf": csrf})
        assert ok.status_code == 303 and ok.headers["location"] == "/?done=assign"
        assert snapshot(rollout) != before


def test_an_action_out_of_scope_is_403_and_on_record(served: Served,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The verdict in Russian, 403, and an ActionDenied event with the person and the channel."""
    monkeypatch.delenv("ROLLOUT_LANG")
    base, rollout = served
    with httpx.Client(base_url=base) as client:
        csrf = webkit.sign_in(client, rollout.services, MC1)
        r = client.post("/schools/0100003/steps/adoption/complete", data={"csrf": csrf})
        assert r.status_code == 403
        assert "нет прав на шаг «Освоение функционала сайта и работа с ним»" in r.text
        e = last_event(rollout)
        assert (e.event, e.actor, e.code, e.data["channel"]) == (
            "ActionDenied", MC1, "0100003", "web")
        r = client.get("/schools/0100003/steps/adoption")
        assert r.status_code == 403


# route, form, who may (in scope); everyone else must get 403 (the table is written by hand
# from states/roles.py's rules, not computed by them)
ACTIONS: list[tuple[str, dict[str, str], set[str]]] = [
    ("/regions/01/steps/registry/complete", {}, {RC01}),
    ("/regions/77/steps/registry/complete", {}, set()),
    ("/regions/77/steps/coordinator/complete", {}, {"support@example.org"}),
    ("/regions/01/steps/municipalities/skip", {"reason": "один муниципалитет"}, {RC01}),
    ("/schools/0100001/steps/adoption/complete", {}, {RC01, MC1, ADMIN1}),
    ("/schools/7700001/steps/adoption/complete", {}, set()),
    ("/schools/0100003/steps/adoption/reopen", {"reason": "ошибка"}, {RC01}),
    ("/people/assign", {"role": "school_admin", "scope": "0100002", "email": "a2@example.org",
                        "name": "Второва Вера"}, {RC01, MC1}),
    ("/people/assign", {"role": "school_admin", "scope": "0100004", "email": "a4@example.org",
                        "name": "Четвёртая Чара"}, {RC01}),
    ("/people/assign", {"role": "school_admin", "scope": "7700001", "email": "a7@example.org",
                        "name": "Седьмова Сима"}, set()),
    ("/people/assign", {"role": "regional_coordinator", "scope": "77",
                        "email": "rc77b@example.org", "name": "Москвина Мария"},
     {"support@example.org"}),
    ("/people/unassign", {"role": "school_admin", "scope": "0100001",
                          "email": "nobody@example.org"}, {RC01, MC1}),
    ("/people/replace", {"role": "municipal_coordinator", "scope": "01-002",
                         "old_email": "nobody@example.org", "email": "m2@example.org",
                         "name": "Новая Нина"}, {RC01}),
    ("/regions/01/letters/coordinator", {}, {RC01, "support@example.org"}),
    ("/regions/77/letters/registry", {}, {"support@example.org"}),
]
PAGES: list[tuple[str, set[str]]] = [
    ("/regions/01/steps/registry", {"support@example.org", "pm@example.org",
                                    "auditor@example.org", RC01}),
    ("/regions/77/steps/coordinator", {"support@example.org", "pm@example.org",
                                       "auditor@example.org"}),
    ("/schools/0100001/steps/adoption", set(ROLES)),
    ("/schools/0100003/steps/admins", {"support@example.org", "pm@example.org",
                                       "auditor@example.org", RC01}),
    ("/schools/7700001/steps/adoption", {"support@example.org", "pm@example.org",
                                         "auditor@example.org"}),
]


def test_every_route_for_every_role_in_and_out_of_scope(served: Served) -> None:
    """403 exactly where the person may not act (recorded as refused, through the web);
    elsewhere the service decides (done, refused by a guard, or bad input), never 403."""
    base, rollout = served
    clients = {}
    for who in ROLES:
        clients[who] = httpx.Client(base_url=base)
        clients[who].headers["x-csrf"] = webkit.sign_in(clients[who], rollout.services, who)
    try:
        for path, allowed in PAGES:
            for who, client in clients.items():
                code = client.get(path).status_code
                assert code == (200 if who in allowed else 403), (path, who, code)
        for path, form, allowed in ACTIONS:
            for who, client in clients.items():
                data = {**form, "csrf": client.headers["x-csrf"], "back": "/"}
                r = client.post(path, data=data)
                if who in allowed:
                    assert r.status_code in (303, 409, 422), (path, who, r.status_code, r.text)
                else:
                    assert r.status_code == 403, (path, who, r.status_code)
                    e = last_event(rollout)
                    assert (e.event, e.actor, e.data["channel"]) == ("ActionDenied", who, "web")
    finally:
        for client in clients.values():
            client.close()


def _events_after(services: Any, seq: int) -> list[dict[str, Any]]:
    keep = ("at", "kind", "code", "region_code", "event", "step", "from_state", "to_state",
            "actor", "role", "reason", "trigger", "data")
    with services.db.read() as conn:
        rows = conn.execute(select(events).where(events.c.seq > seq).order_by(events.c.seq))
        return [{k: r._mapping[k] for k in keep} for r in rows]


def _world(folder: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """A region with two schools and its people, made by the CLI (so that the history holds
    every appointment and `audit verify` can replay it); returns the `--config` arguments."""
    folder.mkdir()
    (folder / "config.yaml").write_text(
        f"database: {{url: 'sqlite:///{folder / 'rollout.db'}'}}\n"
        f"mail: {{transport: file, dir: '{folder / 'mail'}'}}\n", encoding="utf-8")
    cli = ["--config", str(folder / "config.yaml")]
    assert run(capsys, *cli, "init").code == 0
    write(folder / "regions.csv", [["Код", "Наименование", "Часовой пояс"],
                                   ["7", "Кабардино-Балкарская Республика", "Europe/Moscow"]])
    write(folder / "schools.csv", [
        ["Регион", "Код ОО", "Наименование", "Педагогов", "Классов", "Учащихся"],
        ["07", "S1", "МКОУ «СОШ № 1»", 10, 5, 100], ["07", "S2", "МКОУ «СОШ № 2»", 8, 4, 80]])
    write(folder / "people.csv", [["email", "name", "role", "scope"],
                                  ["support@op.ru", "Сергеева Светлана", "support", ""],
                                  ["rc@kbr.ru", "Иванов Иван", "regional_coordinator", "07"]])
    for kind in ("regions", "schools", "people"):
        assert run(capsys, *cli, "import", kind, str(folder / f"{kind}.csv"),
                   "--at", AT).code == 0
    return cli


def test_web_and_cli_write_the_same_history_but_the_channel(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Step 1 completed, an appointment and a refusal: through the pages, then by
    `rollout advance/assign --as` on a twin database; the events differ only in channel, and
    `audit verify` passes on both."""
    web_cli, cli = _world(tmp_path / "web", capsys), _world(tmp_path / "cli", capsys)
    services = Services(load(web_cli[1]))
    twin = Services(load(cli[1]))
    start = _seq(services)
    assert start == _seq(twin)
    at = datetime.fromisoformat(AT)
    with dashkit.running(create_app(services, lambda: at)) as base:
        with httpx.Client(base_url=base) as stp:
            csrf = webkit.sign_in(stp, services, "support@op.ru")
            assert stp.post("/regions/07/steps/coordinator/complete",
                            data={"csrf": csrf}).status_code == 303
        with httpx.Client(base_url=base) as rc:
            csrf = webkit.sign_in(rc, services, "rc@kbr.ru")
            assert rc.post("/people/assign", data={
                "csrf": csrf, "role": "school_admin", "scope": "S1", "email": "adm@kbr.ru",
                "name": "Петрова Анна", "back": "/"}).status_code == 303
            assert rc.post("/regions/07/steps/coordinator/reopen",
                           data={"csrf": csrf, "reason": "проверка"}).status_code == 403
    assert run(capsys, *cli, "advance", "--region", "07", "--step", "coordinator",
               "--as", "support@op.ru", "--at", AT).code == 0
    assert run(capsys, *cli, "assign", "--role", "school_admin", "--scope", "S1",
               "--email", "adm@kbr.ru", "--name", "Петрова Анна", "--as", "rc@kbr.ru",
               "--at", AT).code == 0
    assert run(capsys, *cli, "reopen", "--region", "07", "--step", "coordinator",
               "--reason", "проверка", "--as", "rc@kbr.ru", "--at", AT).code == 4
    web_events, cli_events = _events_after(services, start), _events_after(twin, start)
    assert [e["event"] for e in web_events] == [e["event"] for e in cli_events]
    assert {"PersonAssigned", "StepCompleted", "ActionDenied"} <= {e["event"]
                                                                   for e in web_events}
    for w, c in zip(web_events, cli_events, strict=True):
        wd, cd = dict(w.pop("data") or {}), dict(c.pop("data") or {})
        if w["actor"] != "system":
            assert (wd.pop("channel"), cd.pop("channel")) == ("web", "cli")
        assert (w, wd) == (c, cd)
    for args in (web_cli, cli):
        verify = run(capsys, *args, "audit", "verify")
        assert verify.code == 0, verify.out + verify.err
    services.db.dispose()
    twin.db.dispose()


def _seq(services: Any) -> int:
    with services.db.read() as conn:
        return int(conn.execute(select(func.max(events.c.seq))).scalar_one())


def test_replace_checks_before_it_writes_and_then_swaps(served: Served,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Replacing someone who does not hold the role is 422 (said in Russian) and appoints
    nobody; a real replacement appoints the new coordinator and removes the old one, both on
    record."""
    monkeypatch.delenv("ROLLOUT_LANG")
    base, rollout = served
    form = {"role": "municipal_coordinator", "scope": "01-002", "email": "m2new@example.org",
            "name": "Новикова Нина", "reason": "ушла в отпуск", "back": "/"}
    with httpx.Client(base_url=base) as client:
        csrf = webkit.sign_in(client, rollout.services, RC01)
        before = snapshot(rollout)
        wrong = client.post("/people/replace", data={**form, "csrf": csrf,
                                                     "old_email": "nobody@example.org"})
        assert wrong.status_code == 422 and "заменять некого" in wrong.text
        assert snapshot(rollout) == before
        ok = client.post("/people/replace", data={**form, "csrf": csrf,
                                                  "old_email": "mc2@example.org"})
        assert ok.status_code == 303
    with rollout.services.db.read() as conn:
        held = conn.execute(select(assignments.c.email).where(
            assignments.c.scope == "01-002")).scalars().all()
        recent = conn.execute(select(events.c.event, events.c.reason).order_by(
            events.c.seq.desc()).limit(2)).all()
    assert held == ["m2new@example.org"]
    assert [e.event for e in recent] == ["PersonUnassigned", "PersonAssigned"]
    assert recent[0].reason == "municipal_coordinator mc2@example.org: ушла в отпуск"


def test_each_person_lands_on_what_they_must_do(served: Served) -> None:
    """A municipal coordinator sees their municipality's schools without an admin (late first,
    with due dates and the guard's words), not an empty country; a program manager sees the
    country; an unknown code in an action is 403 for a scoped person, like a page."""
    base, rollout = served
    with httpx.Client(base_url=base) as mc:
        csrf = webkit.sign_in(mc, rollout.services, "mc2@example.org")
        home = mc.get("/").text
        assert "Муниципальный координатор: <a href=\"/municipalities/01-002\">Адыгейск</a>" in home
        assert home.count("4. Назначение администраторов ОО") == 2
        assert "Лицей &lt;Адыгейск&gt; &amp; Ко (0100003)" in home
        assert "у школы 0100003 не назначен администратор ОО" in home
        assert "срок — 26.01.2026" in home and "просрочен" in home
        assert "0 регионов" not in home and "Ход внедрения по стране" not in home
        r = mc.post("/schools/NOPE/steps/adoption/complete", data={"csrf": csrf})
        assert r.status_code == 403
    with httpx.Client(base_url=base) as pm:
        webkit.sign_in(pm, rollout.services, "pm@example.org")
        home = pm.get("/").text
        assert "Ход внедрения по стране" in home and "Что сделать сейчас" not in home


def test_reasons_letters_and_the_messages_after_an_action(served: Served) -> None:
    """Reopen without a reason is 422 and changes nothing; with one, it is on record; the
    coordinator letter is queued and recorded; each success says what it did on the page."""
    base, rollout = served
    with httpx.Client(base_url=base) as rc:
        csrf = webkit.sign_in(rc, rollout.services, RC01)
        before = snapshot(rollout)
        bare = rc.post("/schools/0100001/steps/adoption/reopen", data={"csrf": csrf})
        assert bare.status_code == 422 and "Причина" in bare.text
        assert snapshot(rollout) == before
        r = rc.post("/schools/0100001/steps/adoption/reopen",
                    data={"csrf": csrf, "reason": "директор не начал работу в системе"})
        assert r.headers["location"] == "/schools/0100001/steps/adoption?done=reopen"
        assert "Шаг открыт заново" in rc.get(r.headers["location"]).text
        e = last_event(rollout)
        assert (e.event, e.actor, e.role, e.reason, e.data["channel"]) == (
            "StepReopened", RC01, "regional_coordinator", "директор не начал работу в системе",
            "web")
        sent = rc.post("/regions/01/letters/coordinator", data={"csrf": csrf})
        assert sent.headers["location"] == "/regions/01/steps/coordinator?done=letter-coordinator"
        e = last_event(rollout)
        assert (e.event, e.actor, e.data["letter"], e.data["channel"]) == (
            "LetterQueued", RC01, "coordinator", "web")
        assert "поставлено в очередь отправки" in rc.get(sent.headers["location"]).text
