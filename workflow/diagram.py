"""The state machines as Mermaid or Graphviz dot, read from the machines the engine runs."""

from __future__ import annotations

from transitions import Machine

from states import DONE, STEPS
from workflow.engine import MACHINES

STYLE = {"complete": "", "skip": "skip", "reopen": "reopen"}


def _edges(machine: Machine) -> list[tuple[str, str, str, str]]:
    """(source, dest, event, condition names) for every transition, in a stable order."""
    out = []
    for name, event in machine.events.items():
        for source, transitions in event.transitions.items():
            for t in transitions:
                if t.dest is None:  # internal transitions: the engine's machines have none
                    raise ValueError(f"{name} from {source}: internal transition, no edge to draw")
                conds = ",".join(c.func.__name__ if callable(c.func) else str(c.func)
                                 for c in t.conditions)
                out.append((source, t.dest, name, conds))
    return out


def mermaid(kinds: tuple[str, ...] = ("region", "school")) -> str:
    lines = []
    for kind in kinds:
        lines += ["---", f"title: {kind} machine", "---", "stateDiagram-v2"]
        lines.append(f"    [*] --> {STEPS[0].slug}")
        for step in STEPS:
            lines.append(f"    {step.slug}: {step.number}. {step.title}")
        for src, dst, event, conds in _edges(MACHINES[kind]):
            if event == "reopen" and src != DONE:
                continue  # shown once, from done, to keep the picture readable
            label = f"{event} [{conds}]" if conds and event != "reopen" else event
            lines.append(f"    {src} --> {dst}: {label}")
        lines.append(f"    {DONE} --> [*]")
        lines.append("")
    return "\n".join(lines)


def dot(kinds: tuple[str, ...] = ("region", "school")) -> str:
    lines = ["digraph rollout {", "  rankdir=LR;", '  node [shape=box, style=rounded];']
    for kind in kinds:
        lines.append(f'  subgraph "cluster_{kind}" {{')
        lines.append(f'    label="{kind} machine";')
        for step in STEPS:
            lines.append(f'    "{kind}.{step.slug}" [label="{step.number}. {step.slug}\\n'
                         f'{step.title}"];')
        lines.append(f'    "{kind}.{DONE}" [label="done", shape=doublecircle];')
        for src, dst, event, conds in _edges(MACHINES[kind]):
            style = {"skip": "dashed", "reopen": "dotted"}.get(event, "solid")
            label = f"{event} [{conds}]" if conds and event != "reopen" else event
            lines.append(f'    "{kind}.{src}" -> "{kind}.{dst}" [label="{label}", '
                         f"style={style}];")
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"
