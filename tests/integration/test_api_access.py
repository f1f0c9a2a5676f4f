"""The JSON API: 401 without a token, 403 outside the scope, for every route and role."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests import dashkit
from web import create_app

PM, AUD, SUP = "pm@example.org", "auditor@example.org", "support@example.org"
RC01, RC77 = "rc01@example.org", "rc77@example.org"
MC1, ADM1 = "mc1@example.org", "admin1@example.org"
ALL = (PM, AUD, SUP, RC01, RC77, MC1, ADM1)

# route -> the people who get 200; everyone else with a token gets 403, nobody without one.
ACCESS = {
    "/api/report": set(ALL),
    "/api/regions/01": {PM, AUD, SUP, RC01},
    "/api/regions/77": {PM, AUD, SUP, RC77},
    "/api/schools/0100001": {PM, AUD, SUP, RC01, MC1, ADM1},
    "/api/schools/0100003": {PM, AUD, SUP, RC01},
    "/api/schools/7700001": {PM, AUD, SUP, RC77},
    "/api/audit?school=0100001": {PM, AUD},
    "/api/audit?region=01": {PM, AUD},
}
CASES = [(route, who, 200 if who in ok else 403) for route, ok in ACCESS.items() for who in ALL]


@pytest.fixture(scope="module")
def rollout(tmp_path_factory: pytest.TempPathFactory) -> dashkit.Rollout:
    return dashkit.seed(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def client(rollout: dashkit.Rollout) -> Iterator[httpx.Client]:
    with dashkit.running(create_app(rollout.services, lambda: dashkit.NOW)) as base, \
            httpx.Client(base_url=base) as c:
        yield c


def get(client: httpx.Client, rollout: dashkit.Rollout, path: str, who: str | None
        ) -> httpx.Response:
    headers = {"Authorization": f"Bearer {rollout.tokens[who]}"} if who else {}
    return client.get(path, headers=headers)


@pytest.mark.parametrize("route", list(ACCESS))
@pytest.mark.parametrize("token", [None, "bad.token", "Bearer"])
def test_every_route_answers_401_without_a_valid_token(
        client: httpx.Client, route: str, token: str | None) -> None:
    """No token, a wrong token or an empty Bearer: 401 with a Bearer challenge."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = client.get(route, headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["error"] == "unauthorized"


@pytest.mark.parametrize(("route", "who", "status"), CASES)
def test_every_route_and_role_is_scoped(client: httpx.Client, rollout: dashkit.Rollout,
                                        route: str, who: str, status: int) -> None:
    """Each person reads inside their scope (200) and is refused outside it (403)."""
    assert get(client, rollout, route, who).status_code == status


def test_the_sign_in_cookie_authenticates_like_a_bearer_token(
        client: httpx.Client, rollout: dashkit.Rollout) -> None:
    """The cookie set by the sign-in form opens the API too."""
    r = client.get("/api/regions/01", headers={"Cookie": f"rollout_token={rollout.tokens[RC01]}"})
    assert r.status_code == 200 and r.json()["code"] == "01"


def test_answers_have_the_contract_shapes(client: httpx.Client, rollout: dashkit.Rollout) -> None:
    """report, status and audit log carry the keys that CONTRACT.md promises."""
    report = get(client, rollout, "/api/report", PM).json()
    assert [r["code"] for r in report["regions"]] == ["01", "02", "77"]
    assert report["regions"][0]["steps"]["admins"] == 2
    status = get(client, rollout, "/api/schools/0100002", PM).json()
    assert {"kind", "code", "name", "state", "steps"} <= set(status)
    assert status["state"] == "teachers" and status["steps"]["admins"] == "done"
    log = get(client, rollout, "/api/audit?school=0100001", AUD).json()
    assert log and {"at", "event", "step", "from_state", "to_state", "actor", "reason"} <= set(
        log[0])
    assert log[-1]["to_state"] == "done"


def test_a_scoped_report_lists_only_the_persons_regions(
        client: httpx.Client, rollout: dashkit.Rollout) -> None:
    """A regional coordinator's /api/report holds their region alone, marked scoped."""
    report = get(client, rollout, "/api/report", RC77).json()
    assert [r["code"] for r in report["regions"]] == ["77"] and report["scoped"] is True
    assert report["totals"]["schools"] == 1


def test_contacts_outside_the_scope_are_withheld(client: httpx.Client,
                                                 rollout: dashkit.Rollout) -> None:
    """A school admin sees their own e-mail but not the coordinators' above them."""
    people = get(client, rollout, "/api/schools/0100001", ADM1).json()["people"]
    emails = {p["role"]: p["email"] for p in people}
    assert emails["school_admin"] == ADM1
    assert emails["regional_coordinator"] is None and emails["municipal_coordinator"] is None
    full = get(client, rollout, "/api/schools/0100001", PM).json()["people"]
    assert {p["email"] for p in full} >= {RC01, MC1, ADM1}


def test_unknown_codes_are_404_for_global_roles_and_403_for_scoped_ones(
        client: httpx.Client, rollout: dashkit.Rollout) -> None:
    """A scoped person cannot probe which codes exist outside their scope."""
    assert get(client, rollout, "/api/regions/99", PM).status_code == 404
    assert get(client, rollout, "/api/regions/99", RC01).status_code == 403
    assert get(client, rollout, "/api/audit?school=nope", AUD).status_code == 404
    assert get(client, rollout, "/api/audit", AUD).status_code == 400


def test_the_api_is_read_only(client: httpx.Client, rollout: dashkit.Rollout) -> None:
    """Writing methods are not allowed on any API route."""
    headers = {"Authorization": f"Bearer {rollout.tokens[PM]}"}
    for route in ACCESS:
        assert client.post(route, headers=headers).status_code == 405
