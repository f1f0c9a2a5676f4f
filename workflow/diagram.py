"""The machines as Mermaid or Graphviz dot: the prerequisite graph in force and the life of a
step, both read from what the engine runs (the configured graph, the shared step machine)."""

from __future__ import annotations

from collections.abc import Mapping

from transitions import Machine

from states import STEPS, StepPolicy, graph_of
from workflow.engine import MACHINE

LEVEL_RU = {"region": "регион", "school": "школа"}


def _edges(machine: Machine) -> list[tuple[str, str, str, str]]:
    """(source, dest, event, condition names) for every transition, in a stable order."""
    out = []
    for name, event in machine.events.items():
        for source, transitions in event.transitions.items():
            for t in transitions:
                if t.dest is None:  # internal transitions: the engine's machine has none
                    raise ValueError(f"{name} from {source}: internal transition, no edge to draw")
                conds = ",".join(c.func.__name__ if callable(c.func) else str(c.func)
                                 for c in t.conditions)
                out.append((source, t.dest, name, conds))
    return out


def mermaid(policies: Mapping[str, StepPolicy]) -> str:
    graph = graph_of(policies)
    lines = ["---", "title: steps and their prerequisites (region and school machines)", "---",
             "flowchart TD"]
    for step in STEPS:
        lines.append(f'    {step.slug}["{step.number}. {step.title}<br/>'
                     f'<i>{LEVEL_RU[step.level]}{", по желанию" if step.optional else ""}</i>"]')
    for step in STEPS:
        for dep in graph[step.slug]:
            lines.append(f"    {dep} --> {step.slug}")
    lines += ["", "---", "title: the life of each step (one shared machine)", "---",
              "stateDiagram-v2", "    [*] --> pending"]
    for src, dst, event, conds in _edges(MACHINE):
        label = f"{event} [{conds}]" if conds else event
        lines.append(f"    {src} --> {dst}: {label}")
    lines += ["    done --> [*]", ""]
    return "\n".join(lines)


def dot(policies: Mapping[str, StepPolicy]) -> str:
    graph = graph_of(policies)
    lines = ["digraph rollout {", "  rankdir=TB;", "  node [shape=box, style=rounded];",
             '  subgraph "cluster_steps" {', '    label="steps and their prerequisites";']
    for step in STEPS:
        style = ", style=\"rounded,dashed\"" if step.optional else ""
        lines.append(f'    "{step.slug}" [label="{step.number}. {step.slug}\\n{step.title}\\n'
                     f'({step.level})"{style}];')
    for step in STEPS:
        for dep in graph[step.slug]:
            lines.append(f'    "{dep}" -> "{step.slug}";')
    lines += ["  }", '  subgraph "cluster_life" {', '    label="the life of each step";']
    for src, dst, event, conds in _edges(MACHINE):
        style = {"skip": "dashed", "reopen": "dotted", "block": "dotted"}.get(event, "solid")
        label = f"{event} [{conds}]" if conds else event
        lines.append(f'    "life.{src}" -> "life.{dst}" [label="{label}", style={style}];')
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"
