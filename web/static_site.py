"""`rollout dashboard --out DIR`: the dashboard as static files for a snapshot to mail.

The snapshot sees every region but shows nobody's e-mail or phone and no history: it is meant
to be forwarded. It holds the country page (index.html, written first), a page per region and
per municipality, the trends of the country and of each region, a page per school listed on a
region's page (blocking or late, first page), and the country table as regions.xlsx and
regions.csv; other links are plain text. It is Russian unless `lang` says `en` (the command
passes ROLLOUT_LANG's language).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from storage.models import municipalities, regions
from web import exports, trends, views
from web.access import SNAPSHOT
from web.pages import StaticUrls, file_name, render, stylesheet
from workflow.i18n import speaking


def write_static(services: Any, out_dir: str | Path, now: datetime, lang: str = "ru"
                 ) -> list[Path]:
    """Write the snapshot under `out_dir` as it stands at `now`; returns the files, index first."""
    with speaking(lang):
        return _write(services, out_dir, now)


def _write(services: Any, out_dir: str | Path, now: datetime) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    urls = StaticUrls()
    policies = services.policies
    written: list[Path] = []

    def write(name: str, text: str) -> None:
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)

    with services.db.read() as conn:
        country = views.country(conn, SNAPSHOT, now, policies)
        write("index.html", render("country.html", SNAPSHOT, urls, now, **country))
        write("style.css", stylesheet())
        written.extend(exports.write(country["rows"], out))
        write("trends.html", render("trends.html", SNAPSHOT, urls, now,
                                    **trends.page(conn, SNAPSHOT, now, policies)))
        codes = list(conn.execute(select(regions.c.code).order_by(regions.c.code)).scalars())
        urls.munis = set(conn.execute(select(municipalities.c.code)).scalars())
        groups = [views.group(conn, SNAPSHOT, now, policies, "region", code) for code in codes]
        # school pages for the schools a region page lists (a municipality's list links to
        # those it shares with its region's): a page per late school would be most schools
        urls.schools = {s["code"] for g in groups
                        for s in [*g["blocking"], *(x for lg in g["late_groups"]
                                                   for x in lg["schools"])]}
        for g in groups:
            write(file_name("region", g["code"]), render("group.html", SNAPSHOT, urls, now, **g))
        for code in sorted(urls.munis):  # one at a time: 2,600 of them at national scale
            g = views.group(conn, SNAPSHOT, now, policies, "municipality", code)
            write(file_name("municipality", code), render("group.html", SNAPSHOT, urls, now,
                                                          **g))
        for code in codes:
            write(file_name("trends", code), render("trends.html", SNAPSHOT, urls, now,
                                                    **trends.page(conn, SNAPSHOT, now,
                                                                  policies, code)))
        for code in sorted(urls.schools):
            page = views.school(conn, SNAPSHOT, now, policies, code, with_history=False)
            write(file_name("school", code), render("school.html", SNAPSHOT, urls, now, **page))
    return written
