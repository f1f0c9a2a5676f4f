"""The steps as a prerequisite graph: which steps are open, what a reopen sends back, what a new
definition changes. Pure functions over `{slug: status}` maps; the engine and storage ask, they
never re-derive it.

A step is `pending` until each step it comes after is done or skipped, then `current` (open)
until it is done or skipped. Several steps of one machine can be open at once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict

from states.steps import DONE, STEPS, StepPolicy

FINISHED = frozenset(("done", "skipped"))
SLUGS: tuple[str, ...] = tuple(s.slug for s in STEPS)
_CODE = {"done": "D", "skipped": "S", "current": "C", "pending": "P"}
_STATUS = {v: k for k, v in _CODE.items()}

Graph = Mapping[str, tuple[str, ...]]  # slug -> the steps it comes after
Statuses = Mapping[str, str]  # slug -> done | skipped | current | pending


class GraphError(ValueError):
    """A step graph that cannot run: names the step and the problem."""

    def __init__(self, slug: str, problem: str) -> None:
        self.slug, self.problem = slug, problem
        super().__init__(f"steps.{slug}.after: {problem}")


def default_graph() -> dict[str, tuple[str, ...]]:
    """The graph each step declares in `states.steps`."""
    return {s.slug: s.after for s in STEPS}


def graph_of(policies: Mapping[str, StepPolicy]) -> dict[str, tuple[str, ...]]:
    return {slug: policies[slug].after for slug in SLUGS}


def check_graph(graph: Graph) -> None:
    """Known slugs, no cycle, step 1 first and alone without prerequisites, and a region step
    never waiting for a school step (a region cannot act on what its schools do first)."""
    level = {s.slug: s.level for s in STEPS}
    first = SLUGS[0]
    for slug in SLUGS:
        after = graph.get(slug, ())
        for dep in after:
            if dep not in level:
                raise GraphError(slug, f"unknown step {dep!r}; steps are {', '.join(SLUGS)}")
            if dep == slug:
                raise GraphError(slug, "a step cannot come after itself")
            if level[slug] == "region" and level[dep] == "school":
                raise GraphError(slug, f"a region step cannot come after the school step {dep!r}")
        if slug == first and after:
            raise GraphError(slug, "step 1 comes first: it has no prerequisites")
        if slug != first and not after:
            raise GraphError(slug, f"every step but {first!r} comes after another step")
    _check_acyclic(graph)


def _check_acyclic(graph: Graph) -> None:
    state: dict[str, int] = {}  # 1: on the path, 2: finished

    def visit(slug: str, path: tuple[str, ...]) -> None:
        if state.get(slug) == 2:
            return
        if state.get(slug) == 1:
            cycle = " → ".join(path[path.index(slug):] + (slug,))
            raise GraphError(slug, f"a cycle: {cycle}")
        state[slug] = 1
        for dep in graph.get(slug, ()):
            visit(dep, path + (slug,))
        state[slug] = 2

    for slug in SLUGS:
        visit(slug, ())


def dependents(graph: Graph, slug: str) -> tuple[str, ...]:
    """Every step that comes after `slug`, directly or not, in the instruction's order."""
    found: set[str] = set()
    frontier = [slug]
    while frontier:
        cur = frontier.pop()
        for s in SLUGS:
            if cur in graph.get(s, ()) and s not in found:
                found.add(s)
                frontier.append(s)
    return tuple(s for s in SLUGS if s in found)


def ancestors(graph: Graph, slug: str) -> set[str]:
    """Every step that `slug` comes after, directly or not."""
    found: set[str] = set()
    frontier = list(graph.get(slug, ()))
    while frontier:
        cur = frontier.pop()
        if cur not in found:
            found.add(cur)
            frontier.extend(graph.get(cur, ()))
    return found


def unfinished_prerequisites(graph: Graph, statuses: Statuses, slug: str) -> tuple[str, ...]:
    return tuple(d for d in graph.get(slug, ()) if statuses.get(d) not in FINISHED)


def settle_open(graph: Graph, statuses: Statuses) -> dict[str, str]:
    """The statuses with each unfinished step `current` or `pending` as its prerequisites say.

    Done and skipped steps are left as they are: nothing done is ever lost.
    """
    out = dict(statuses)
    for slug in SLUGS:  # decided from the finished steps only, so the order does not matter
        if out.get(slug) in FINISHED:
            continue
        out[slug] = "pending" if unfinished_prerequisites(graph, out, slug) else "current"
    return out


def open_steps(statuses: Statuses) -> tuple[str, ...]:
    return tuple(s for s in SLUGS if statuses.get(s) == "current")


def first_open(statuses: Statuses) -> str:
    """A machine's `state`: its first step in the instruction's order neither done nor skipped."""
    return next((s for s in SLUGS if statuses.get(s) not in FINISHED), DONE)


def initial_statuses(graph: Graph) -> dict[str, str]:
    return settle_open(graph, {s: "pending" for s in SLUGS})


def encode(statuses: Statuses) -> str:
    """One letter a step, in the instruction's order ("DDDCCPPPP"): a column SQL can group by."""
    return "".join(_CODE[statuses[s]] for s in SLUGS)


def decode(code: str) -> dict[str, str]:
    return {s: _STATUS[c] for s, c in zip(SLUGS, code, strict=True)}


def finished_counts(by_code: Iterable[tuple[str, int]]) -> dict[str, int]:
    """From (encoded statuses, machines) pairs to machines that finished each step."""
    out = dict.fromkeys(SLUGS, 0)
    for code, n in by_code:
        for slug, c in zip(SLUGS, code, strict=True):
            if c in "DS":
                out[slug] += n
    return out


def status_counts(by_code: Iterable[tuple[str, int]]) -> dict[str, dict[str, int]]:
    """From (encoded statuses, machines) pairs to, per step, machines in each status."""
    out = {s: dict.fromkeys(("done", "skipped", "current", "pending"), 0) for s in SLUGS}
    for code, n in by_code:
        for slug, c in zip(SLUGS, code, strict=True):
            out[slug][_STATUS[c]] += n
    return out


def definition_body(policies: Mapping[str, StepPolicy]) -> dict[str, dict[str, object]]:
    """The step definition in force as plain data: graph, thresholds, SLAs, shares."""
    return {slug: {**asdict(policies[slug]), "after": list(policies[slug].after)}
            for slug in SLUGS}


def fingerprint(policies: Mapping[str, StepPolicy]) -> str:
    """A short stable hash of the definition: equal definitions, equal fingerprints."""
    text = json.dumps(definition_body(policies), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def definition_changes(old: Mapping[str, Mapping[str, object]],
                       new: Mapping[str, Mapping[str, object]]) -> list[tuple[str, str, object,
                                                                                object]]:
    """(slug, key, old value, new value) for every setting that differs."""
    out = []
    for slug in SLUGS:
        a, b = old.get(slug, {}), new.get(slug, {})
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                out.append((slug, key, a.get(key), b.get(key)))
    return out
