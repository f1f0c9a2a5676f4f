"""Dashboard errors: the app maps them to 401, 403 and 404 in one place."""

from __future__ import annotations


class DashboardError(Exception):
    """Base of the web errors."""


class NotSignedIn(DashboardError, PermissionError):
    """No valid token (401)."""

    def __init__(self) -> None:
        super().__init__("a valid access token is required (Authorization: Bearer TOKEN)")


class OutOfScope(DashboardError, PermissionError):
    """The person may not see this (403)."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"outside your scope: {what}")


class NotFound(DashboardError, LookupError):
    """No such region, municipality or school (404)."""

    def __init__(self, kind: str, code: str) -> None:
        self.kind, self.code = kind, code
        super().__init__(f"unknown {kind} code {code!r}")
