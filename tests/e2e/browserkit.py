"""What the browser tests share: Debian's chromium, how it is launched, where screenshots go."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# A browser test module's marks: run with the `browser` marker, skipped (saying why) without
# Debian's chromium.
NEEDS_CHROMIUM = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="needs Debian's chromium at /usr/bin/chromium "
                              "(apt-get install -y chromium)"),
]


def shot(page: Any, name: str) -> None:
    """Keep a screenshot of the page in test-artifacts/ (ignored by git)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in_with_key(browser: Any, base: str, token: str, width: int = 1280,
                     **context: Any) -> tuple[Any, Any]:
    """A new browser context signed in with an operator's key (the form folded under the
    e-mail sign-in); returns the context and its page, on the home page."""
    ctx = browser.new_context(viewport={"width": width, "height": 900}, is_mobile=width < 600,
                              **context)
    page = ctx.new_page()
    page.goto(f"{base}/signin")
    page.click("summary")
    page.fill("#token", token)
    page.click("#token-submit")
    page.wait_for_url(f"{base}/")
    return ctx, page
