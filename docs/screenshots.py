"""The README's screenshots, taken from the demo: `python docs/screenshots.py [--dir DIR]`.

Builds the demo in a fresh folder, serves it at the moment the demo ended, opens sessions for a
program manager, a municipal coordinator and a school admin (as a sign-in link would), and has
Debian's chromium (headless, through Playwright) take each page at 1400 px, and the personal
pages at a phone's 390 px too. The PNG files are written beside this script.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.dashkit import running  # noqa: E402
from web import create_app  # noqa: E402
from workflow.demo import run_demo  # noqa: E402
from workflow.signin import open_session  # noqa: E402

OUT = Path(__file__).resolve().parent
PM, MC, ADMIN = ("pm@minpros.example.ru", "mk.ntagil@sverdl.example.ru",
                 "admin.660101@school.example.ru")
# (file, who, path, width): the manager's views, then a coordinator's and an admin's own pages
SHOTS = [
    ("country.png", PM, "/", 1400),
    ("region.png", PM, "/regions/66", 1400),
    ("trends.png", PM, "/regions/66/trends", 1400),
    ("coordinator-home.png", MC, "/", 1400),
    ("coordinator-step-4.png", MC, "/schools/660202/steps/admins", 1400),
    ("coordinator-home-phone.png", MC, "/", 390),
    ("admin-step-phone.png", ADMIN, "/schools/660101/steps/adoption", 390),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, help="where to build the demo (default: a temp dir)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        services, finished = run_demo(args.dir or Path(tmp) / "demo", echo=lambda _line: None)
        sessions = {who: open_session(services, who, finished)[0] for who in (PM, MC, ADMIN)}
        with running(create_app(services, lambda: finished)) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium")
            for name, who, path, width in SHOTS:
                context = browser.new_context(viewport={"width": width, "height": 900},
                                              is_mobile=width < 600)
                context.add_cookies([{"name": "rollout_session", "value": sessions[who],
                                      "url": base}])
                page = context.new_page()
                response = page.goto(base + path)
                if response is None or response.status != 200:
                    raise SystemExit(f"{path} as {who}: {response and response.status}")
                page.screenshot(path=str(OUT / name), full_page=width >= 600)
                context.close()
                print(OUT / name)
            browser.close()
        services.db.dispose()


if __name__ == "__main__":
    main()
