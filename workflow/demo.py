"""`rollout demo`: three sample regions' rollout played over five weeks on the embedded defaults.

It leaves DIR/config.yaml, the database, the sample files, the mail and the dashboard, so that
every other command can look at them with `--config DIR/config.yaml`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from workflow import config as config_mod
from workflow import mail, reconcile
from workflow.demo_data import MUNICIPAL_COORDINATORS, SCHOOLS, SUPPORT, write_files, write_metrics
from workflow.errors import GuardRefused, InvalidInput
from workflow.i18n import _, ngettext
from workflow.importing import import_file
from workflow.services import Services

MARKER = ".rollout-demo"
START = datetime(2026, 9, 7, 6, 0, tzinfo=UTC)  # Monday, 09:00 in Moscow
CONFIG = """\
# Written by `rollout demo`. Every key has a default; see the README for all of them.
database:
  url: sqlite:///rollout.db
operator:
  email: vv.savchenko@mgou.ru
support:
  email: support@myschool-operator.ru
mail:
  sender: "Внедрение ФГИС «Моя школа» <rollout@example.org>"
  transport: file
  dir: mail/
reminders:
  window: ["09:00", "18:00"]
  repeat_every_days: 3
steps:                 # the graph and the parents' and students' thresholds: the defaults
  teachers: {sla_days: 5, escalate_after_days: 8, threshold: 0.95}
  classes: {sla_days: 5, escalate_after_days: 8, threshold: 1.0}
  parents: {sla_days: 10, escalate_after_days: 15}
  students: {sla_days: 10, escalate_after_days: 15}
"""


@dataclass
class DemoLog:
    """What the demo did, day by day, for the closing summary."""

    lines: list[str] = field(default_factory=list)
    echo: Callable[[str], None] = print

    def say(self, when: datetime, text: str) -> None:
        line = f"{when:%d.%m %H:%M} UTC  {text}"
        self.lines.append(line)
        self.echo(line)


def prepare(directory: Path) -> None:
    """A fresh directory, or one an earlier demo made; never someone else's files."""
    if directory.exists() and any(directory.iterdir()) and not (directory / MARKER).exists():
        raise InvalidInput(_("{directory}: the folder is not empty and was not made by "
                             "`rollout demo`; name a new folder with --dir", directory=directory))
    for name in ("rollout.db", "rollout.db-wal", "rollout.db-shm", "mail", "dashboard", "data"):
        p = directory / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text("made by rollout demo\n", encoding="utf-8")
    (directory / "config.yaml").write_text(CONFIG, encoding="utf-8")


def run_demo(directory: Path, echo: Callable[[str], None] = print) -> tuple[Services, datetime]:
    """Build the sample, play the weeks and deliver the mail; returns the services and the
    moment the demo ended (for the dashboard snapshot)."""
    directory = directory.resolve()
    prepare(directory)
    cfg = config_mod.load(directory / "config.yaml", env={})
    services = Services(cfg)
    services.db.migrate()
    log = DemoLog(echo=echo)
    play = _Play(services, directory, log)
    play.run()
    return services, play.finished


class _Play:
    def __init__(self, services: Services, directory: Path, log: DemoLog) -> None:
        self.s, self.dir, self.log = services, directory, log
        self.data = directory / "data"
        self.finished = START

    def at(self, day: int, hour: int = 6, minute: int = 0) -> datetime:
        return START + timedelta(days=day, hours=hour - 6, minutes=minute)

    def hook(self, hook: str, now: datetime, **kw: str) -> None:
        """The mail side of the story: letters, reminder passes, the digest, delivery."""
        said: str | None = None
        if hook == "letter":
            message_id = mail.queue_letter(self.s, kw["name"], kw["region"], now, kw.get("actor"))
            said = _("letter {name} for region {region} queued ({id})", name=kw["name"],
                     region=kw["region"], id=message_id)
        elif hook == "remind":
            summary = mail.remind(self.s, now)
            said = _("reminders queued: {reminders}, escalations: {escalations}, recipients: "
                     "{recipients}, late items: {items}", reminders=summary.reminders,
                     escalations=summary.escalations, recipients=len(summary.recipients),
                     items=summary.items) if summary.reminders or summary.escalations else None
        elif hook == "digest":
            said = ngettext("weekly digest queued for {n} recipient (program managers; "
                            "auditors with the history's anchor)",
                            "weekly digest queued for {n} recipients (program managers; "
                            "auditors with the history's anchor)",
                            mail.digest(self.s, now))
        elif hook == "send":
            delivery = mail.deliver_outbox(self.s, now)
            said = _("outbox: sent {sent}, deferred {deferred}, failed {failed}",
                     sent=delivery.sent, deferred=delivery.deferred, failed=delivery.failed
                     ) if delivery.sent or delivery.failed else None
        if said:
            self.log.say(now, said)

    def run(self) -> None:
        s, say = self.s, self.log.say
        now = self.at(0)
        for kind, path in write_files(self.data).items():
            say(now, import_file(s, kind, path, now=now).summary())
        for region in ("07", "66", "41"):
            self.hook("letter", now, name="coordinator", region=region)
        support = SUPPORT[0]
        for region in ("07", "66"):
            now = self.at(1, 8)
            say(now, s.advance("region", region, "coordinator", support, now,
                               "Письмо о подключении получено, координатор подключён").message)
        now = self.at(2, 7)
        for region, rc in (("07", "rc@kbr.example.ru"), ("66", "rc@sverdl.example.ru")):
            # step 2: the region's own list against the registry, the request to support
            listing = reconcile.sample_list(s, region, self.data / f"schools-list-{region}.xlsx")
            say(now, reconcile.reconcile(s, region, listing, now, rc).summary())
            self.hook("letter", now, name="registry", region=region, actor=rc)
            say(now, reconcile.accept(s, region, "Изменения направлены в СТП заявкой", rc, now))
            say(now, s.advance("region", region, "registry", rc, now,
                               "Реестр ОО сверен с данными СТП").message)
        self.municipal_split()
        self.appoint_admins(self.at(4, 9), ["070101", "070102", "070103", "070201", "070301",
                                            "070302"])
        self.kamchatka()
        self.appoint_admins(self.at(9, 10), ["660101", "660102", "660103", "660201", "660301",
                                             "660301F", "070202", "070202F"])
        self.weeks_of_metrics()

    def municipal_split(self) -> None:
        s, say = self.s, self.log.say
        now = self.at(3, 8)
        for muni, (email, name) in MUNICIPAL_COORDINATORS.items():
            if muni == "6603":
                continue  # Свердловская область appoints its third coordinator a week later
            rc = "rc@kbr.example.ru" if muni.startswith("07") else "rc@sverdl.example.ru"
            say(now, s.assign("municipal_coordinator", muni, email, name, rc, now))
        say(now, s.advance("region", "07", "municipalities", "rc@kbr.example.ru", now).message)
        try:
            s.advance("region", "66", "municipalities", "rc@sverdl.example.ru", now)
        except GuardRefused as refused:
            say(now, _("refused, and on record: {refusal}", refusal=refused))
        now = self.at(9, 8)
        email, name = MUNICIPAL_COORDINATORS["6603"]
        say(now, s.assign("municipal_coordinator", "6603", email, name, "rc@sverdl.example.ru",
                          now))
        say(now, s.advance("region", "66", "municipalities", "rc@sverdl.example.ru", now).message)

    def kamchatka(self) -> None:
        """A late, small region: connected after a reminder, skips the municipal split."""
        s, say = self.s, self.log.say
        self.hook("remind", self.at(7, 0))  # 12:00 in Kamchatka, the step is late
        now = self.at(8, 1)
        say(now, s.advance("region", "41", "coordinator", SUPPORT[0], now,
                           "Заявка региона получена после напоминания").message)
        say(now, reconcile.reconcile_as_registered(s, "41", now, "rc@kamchatka.example.ru")
            .summary())
        say(now, s.advance("region", "41", "registry", "rc@kamchatka.example.ru", now).message)
        say(now, s.skip("region", "41", "municipalities", "rc@kamchatka.example.ru", now,
                        "Школы края курирует региональный координатор напрямую, "
                        "деление на муниципалитеты не требуется").message)
        self.appoint_admins(self.at(8, 2), ["410001", "410002", "410003", "410003F"],
                            by="rc@kamchatka.example.ru")

    def appoint_admins(self, now: datetime, codes: list[str], by: str | None = None) -> None:
        schools = {code: (region, muni) for region, muni, code, *_rest in SCHOOLS}
        for code in codes:
            region, muni = schools[code]
            actor = by or MUNICIPAL_COORDINATORS[muni][0]
            email = f"admin.{code.lower()}@school.example.ru"
            self.log.say(now, self.s.assign("school_admin", code, email,
                                            f"Администратор ОО {code}", actor, now))

    def weeks_of_metrics(self) -> None:
        s, say = self.s, self.log.say
        Shares = dict[str, float | tuple[float, float, float, float]]
        plan: list[tuple[int, str, Shares]] = [  # day, file, shares per school ("*": the rest)
            # 070102 loads its classes before its teachers: the two steps run side by side
            (11, "metrics-week2.csv", {"*": 0.45, "070101": 0.7, "660102": 0.8,
                                       "070102": (0.5, 1.0, 0.3, 0.3)}),
            (15, "metrics-week3.csv", {"*": 0.7, "070101": 1.0, "070102": 1.0, "410001": 1.0,
                                       "660101": 1.0, "660102": 1.0}),
            (22, "metrics-week4.csv", {"*": 0.85, "070101": 1.0, "070102": 1.0, "070103": 1.0,
                                       "070201": 1.0, "410001": 1.0, "410002": 1.0,
                                       "660101": 1.0, "660102": 1.0, "660103": 1.0}),
        ]
        for day, name, shares in plan:
            for hour in (1, 6, 12):  # passes at 10-14 local in Kamchatka, Moscow, Yekaterinburg
                self.hook("remind", self.at(day - 1, hour))
            now = self.at(day, 9)
            say(now, import_file(s, "metrics", write_metrics(self.data, name, shares),
                                 now=now).summary())
            self.hook("send", now)
            if day == 15:
                reopen_at = self.at(16, 8)
                say(reopen_at, s.reopen(
                    "school", "070101", "teachers", "mk.nalchik@kbr.example.ru", reopen_at,
                    "Загружен неверный файл педагогов, нужна повторная загрузка").message)
        now = self.at(24, 9)
        for code in ("070101", "070102", "410001"):
            say(now, s.advance("school", code, "adoption", f"admin.{code}@school.example.ru",
                               now, "Педагоги ведут журнал, родители на платформе").message)
        for day in (25, 29):
            for hour in (1, 6, 12):
                self.hook("remind", self.at(day, hour))
        self.hook("digest", self.at(32, 6))
        self.hook("send", self.at(32, 7))
        self.finished = self.at(32, 7)
