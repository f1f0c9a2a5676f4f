"""Russia's time zones as people name them («МСК+2, Екатеринбург»), and times shown in them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from workflow.i18n import N_, _, catalogue

MOSCOW = ZoneInfo("Europe/Moscow")

# Each IANA zone of Russia and the city it is named after, as people say it. The offset from
# Moscow is not written here: it is computed at the moment shown (it moved in 2011 and 2014).
CITIES = {
    "Europe/Kaliningrad": N_("Kaliningrad"),
    "Europe/Moscow": N_("Moscow"),
    "Europe/Simferopol": N_("Simferopol"),
    "Europe/Kirov": N_("Kirov"),
    "Europe/Volgograd": N_("Volgograd"),
    "Europe/Astrakhan": N_("Astrakhan"),
    "Europe/Saratov": N_("Saratov"),
    "Europe/Ulyanovsk": N_("Ulyanovsk"),
    "Europe/Samara": N_("Samara"),
    "Asia/Yekaterinburg": N_("Yekaterinburg"),
    "Asia/Omsk": N_("Omsk"),
    "Asia/Novosibirsk": N_("Novosibirsk"),
    "Asia/Barnaul": N_("Barnaul"),
    "Asia/Tomsk": N_("Tomsk"),
    "Asia/Novokuznetsk": N_("Novokuznetsk"),
    "Asia/Krasnoyarsk": N_("Krasnoyarsk"),
    "Asia/Irkutsk": N_("Irkutsk"),
    "Asia/Chita": N_("Chita"),
    "Asia/Yakutsk": N_("Yakutsk"),
    "Asia/Khandyga": N_("Khandyga"),
    "Asia/Vladivostok": N_("Vladivostok"),
    "Asia/Ust-Nera": N_("Ust-Nera"),
    "Asia/Magadan": N_("Magadan"),
    "Asia/Sakhalin": N_("Yuzhno-Sakhalinsk"),
    "Asia/Srednekolymsk": N_("Srednekolymsk"),
    "Asia/Kamchatka": N_("Petropavlovsk-Kamchatsky"),
    "Asia/Anadyr": N_("Anadyr"),
}


def zone_name(tz: str, at: datetime | None = None, lang: str | None = None) -> str:
    """«МСК+2, Екатеринбург» (MSK+2, Yekaterinburg); a zone outside Russia keeps its IANA name.

    `lang` forces a language (the web pages are Russian whatever ROLLOUT_LANG says)."""
    city = CITIES.get(tz)
    if city is None:
        return tz
    moment = at or datetime(2026, 1, 1, tzinfo=MOSCOW)
    offset = moment.astimezone(ZoneInfo(tz)).utcoffset() or timedelta()
    hours = round((offset - (moment.astimezone(MOSCOW).utcoffset() or timedelta()))
                  .total_seconds() / 3600)
    say = catalogue(lang).gettext if lang else _
    msk = say(N_("MSK"))
    if hours:
        msk += f"{'+' if hours > 0 else '−'}{abs(hours)}"
    return f"{msk}, {say(city)}"


def local_time(moment: str | None, tz: str, seconds: bool = False) -> str:
    """A stored UTC moment as the local time people read it (the history keeps UTC)."""
    if not moment:
        return ""
    stored = datetime.fromisoformat(moment)
    if stored.tzinfo is None:  # a database that drops the offset keeps UTC
        stored = stored.replace(tzinfo=UTC)
    shown = stored.astimezone(ZoneInfo(tz))
    return shown.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
