"""The addresses of the web pages, built in one place for the web app and for letters.

Pure functions of the base URL (config.yaml `web.base_url`, or "" for a path on the same site):
notifications may not import the web package, and the web package imports this.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

PAGES = {"region": "regions", "municipality": "municipalities", "school": "schools"}


def _part(text: str) -> str:
    """One path segment, percent-encoded (codes and slugs are usually plain: kept as they are;
    a national reminder pass builds ~57,000 of these)."""
    return text if text.isascii() and text.replace("_", "").isalnum() else quote(text, safe="")


def machine_url(base_url: str, kind: str, code: str) -> str:
    """The page of a region, a municipality or a school."""
    return f"{base_url.rstrip('/')}/{PAGES[kind]}/{_part(code)}"


def step_url(base_url: str, kind: str, code: str, step: str) -> str:
    """The page where step `step` of the machine (`kind` region or school, `code`) is done."""
    return f"{machine_url(base_url, kind, code)}/steps/{_part(step)}"


def action_url(base_url: str, kind: str, code: str, step: str, action: str) -> str:
    """Where the form of an action on a step posts (complete, skip, reopen, …)."""
    return f"{step_url(base_url, kind, code, step)}/{_part(action)}"


def signin_link_url(base_url: str, secret: str) -> str:
    """The single-use sign-in link sent by e-mail."""
    return f"{base_url.rstrip('/')}/signin/link?{urlencode({'t': secret})}"


__all__ = ["PAGES", "action_url", "machine_url", "signin_link_url", "step_url"]
