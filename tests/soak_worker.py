"""One process of the soak (tests/integration/test_soak.py): a writer or a relay.

    python -m tests.soak_worker writer URL WORKDIR SEED DEADLINE AT OUT
    python -m tests.soak_worker relay URL WORKDIR SEED DEADLINE AT OUT

A writer, until DEADLINE (a Unix time), picks at random: a school's adoption step, a region's
step 3 reopened and advanced again (a cascade over its schools), a metrics file for a region's
schools (an import that cascades), a school admin appointed (a notice queued). Every command
that succeeded is one JSON line in OUT; refusals and conflicts are counted, not retried. A
relay delivers the outbox until DEADLINE. Time for the commands is AT (fixed); the deadline is
only when to stop.
"""

from __future__ import annotations

import csv
import json
import random
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from benchmarks import national
from storage.errors import ConflictError, DatabaseBusy
from storage.models import machines, schools
from workflow import config as config_mod
from workflow.errors import GuardRefused, PermissionDenied
from workflow.services import Services

MAIL = "mail.yaml"  # written by the test beside the database: the SMTP server's port


def _services(url: str, work: Path) -> Services:
    import yaml

    raw = yaml.safe_load((work / MAIL).read_text(encoding="utf-8"))
    return Services(config_mod.build({"database": {"url": url}, **raw}, work))


def writer(services: Services, rng: random.Random, deadline: float, at: datetime,
           work: Path, out: Any) -> dict[str, float]:
    tally: dict[str, float] = {"ok": 0, "refused": 0, "conflict": 0, "busy": 0}
    with services.db.read() as conn:
        school_rows = [(r.code, r.region_code) for r in conn.execute(
            select(schools.c.code, schools.c.region_code))]
        walked = sorted({r.region_code for r in conn.execute(select(machines.c.region_code).where(
            machines.c.kind == "region", machines.c.statuses.like("DDD%")))})
    by_region: dict[str, list[str]] = {}
    for code, region in school_rows:
        by_region.setdefault(region, []).append(code)
    n = 0
    while time.time() < deadline:
        n += 1
        op = rng.choices(("adoption", "cascade", "metrics", "assign"), (6, 1, 1, 2))[0]
        region = rng.choice(walked)
        t0 = time.perf_counter()
        try:
            if op == "adoption":
                code = rng.choice(by_region[region])
                who = national.admin_email(code)
                services.advance("school", code, "adoption", who, at)
                done = {"op": op, "event": "StepCompleted", "kind": "school", "code": code,
                        "step": "adoption", "actor": who}
            elif op == "cascade":
                who = national.coordinator_email(region)
                services.reopen("region", region, "municipalities", who, at,
                                reason=f"проверка {n}")
                print(json.dumps({"op": "reopen", "event": "StepReopened", "kind": "region",
                                  "code": region, "step": "municipalities", "actor": who}),
                      file=out, flush=True)
                tally["ok"] += 1
                services.advance("region", region, "municipalities", who, at)
                done = {"op": op, "event": "StepCompleted", "kind": "region", "code": region,
                        "step": "municipalities", "actor": who}
            elif op == "metrics":
                path = work / f"metrics-{rng.random():.12f}.csv"
                with path.open("w", encoding="utf-8", newline="") as f:
                    w = csv.writer(f)
                    w.writerow(["school", "teachers", "classes", "parents", "students"])
                    for code in by_region[region]:
                        w.writerow([code, rng.randint(20, 90), rng.randint(5, 40),
                                    rng.randint(100, 900), rng.randint(100, 900)])
                from workflow.importing import import_file

                result = import_file(services, "metrics", path, now=at)
                done = {"op": op, "event": "Imported", "file": path.name,
                        "changed": result.created + result.updated}
            else:
                code = rng.choice(by_region[region])
                email = f"deputy{n}.{rng.randint(0, 10**6)}@school{code}.ru"
                services.assign("school_admin", code, email, f"Заместитель Директора {n}",
                                national.coordinator_email(region), at)
                done = {"op": op, "event": "PersonAssigned", "code": code, "email": email}
        except (GuardRefused, PermissionDenied):
            tally["refused"] += 1
            continue
        except ConflictError:
            tally["conflict"] += 1
            continue
        except DatabaseBusy:
            tally["busy"] += 1
            continue
        finally:
            tally[f"{op} s"] = round(tally.get(f"{op} s", 0) + time.perf_counter() - t0, 2)
        print(json.dumps(done, ensure_ascii=False), file=out, flush=True)
        tally["ok"] += 1
    return tally


def relay(services: Services, deadline: float, at: datetime) -> dict[str, float]:
    from workflow.mail import deliver_outbox

    sent = 0
    while time.time() < deadline:
        sent += deliver_outbox(services, at).sent
        time.sleep(0.2)
    return {"sent": sent}


def main(argv: list[str]) -> int:
    role, url, work, seed, deadline, at, out = argv
    services = _services(url, Path(work))
    moment = datetime.fromisoformat(at)
    with open(out, "w", encoding="utf-8") as f:
        if role == "writer":
            tally = writer(services, random.Random(int(seed)), float(deadline), moment,
                           Path(work), f)
        else:
            tally = relay(services, float(deadline), moment)
        print(json.dumps({"tally": tally}), file=f, flush=True)
    services.db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
