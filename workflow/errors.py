"""Workflow errors; the CLI maps each base to an exit code of the contract in one place."""

from __future__ import annotations

from collections.abc import Sequence

from states import Verdict
from workflow.i18n import _, kind_name, reasons


class WorkflowError(Exception):
    """Base of the workflow errors."""


class UsageError(WorkflowError, ValueError):
    """The command was called wrongly (exit 2)."""


class GuardRefused(WorkflowError, ValueError):
    """A guard refused the step: out of order, or evidence missing (exit 3)."""

    def __init__(self, kind: str, code: str, step: str, verdict: Verdict) -> None:
        self.kind, self.code, self.step, self.verdict = kind, code, step, verdict
        super().__init__(_("{kind} {code}: refused: {reasons}", kind=kind_name(kind), code=code,
                           reasons=reasons(verdict)))


class PermissionDenied(WorkflowError, PermissionError):
    """Unknown actor, wrong role or out of scope (exit 4)."""

    def __init__(self, message: str, verdict: Verdict | None = None) -> None:
        self.verdict = verdict  # the refusal with its reasons in both languages, when known
        super().__init__(message)


class InvalidInput(WorkflowError, ValueError):
    """A file, the configuration or an argument was rejected; nothing was written (exit 6)."""

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class UnknownCode(InvalidInput):
    """A code names no region, municipality or school."""

    def __init__(self, kind: str, code: str) -> None:
        self.kind, self.code = kind, code
        super().__init__(_("unknown {kind} code {code!r}", kind=kind_name(kind), code=code))


class ConfigInvalid(InvalidInput):
    """The configuration was rejected; the message names the key."""


class DefinitionStale(InvalidInput):
    """The step definition in config.yaml is not the one the machines follow (exit 6)."""

    def __init__(self, version: int) -> None:
        self.version = version
        super().__init__(_(
            "the step definition in the configuration differs from the one in force "
            "(version {version}); see what changes with `rollout steps diff`, then apply it "
            "with `rollout steps migrate`", version=version))
