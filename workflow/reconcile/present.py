"""A reconciliation as people read it: its sections and one line of detail per discrepancy,
shared by `rollout reconcile` (tables on the terminal) and the region's web page."""

from __future__ import annotations

from typing import Any

from storage import reconciliations
from workflow.errors import InvalidInput
from workflow.i18n import N_, _
from workflow.reconcile.service import request_xlsx

SECTIONS = (("add", N_("Add (in the region's list, not in the registry)")),
            ("remove", N_("Remove (in the registry, not in the region's list)")),
            ("relink", N_("Relink")),
            ("changed", N_("Change details")),
            ("unmatched", N_("Not matched")))


def detail(d: dict[str, Any]) -> str:
    """What a discrepancy is about, in one line."""
    if d["kind"] == "add":
        parts = [d["municipality"]["name"] if d.get("municipality") else "",
                 _("branch of: {name}", name=d["parent"]["name"]) if d.get("parent") else ""]
        return "; ".join(p for p in parts if p)
    if d["kind"] == "relink":
        what = _("municipality") if d["what"] == "municipality" else _("main school")
        old = (d["from"] or {}).get("name") or "—"
        new = (d["to"] or {}).get("name") or "—"
        return f"{what}: {old} → {new}"
    if d["kind"] == "changed":
        return "; ".join(f"{f}: {v['registry'] or '—'} → {v['list']}"
                         for f, v in d["fields"].items())
    if d["kind"] == "unmatched":
        side = _("row {row}", row=d["row"]) if d.get("side") == "list" else _("registry")
        return f"{side}: {d['problem']}"
    return ""


def sections(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The non-empty sections, each with its rows (code, name, inn, kpp, detail, status)."""
    out = []
    for kind, title in SECTIONS:
        rows = [{"code": d.get("code") or "", "name": d["name"], "inn": d.get("inn") or "",
                 "kpp": d.get("kpp") or "", "detail": detail(d),
                 "status": d.get("status", reconciliations.OPEN)}
                for d in items if d["kind"] == kind]
        if rows:
            out.append({"kind": kind, "title": _(title), "rows": rows})
    return out


def last_reconciliation(conn: Any, region: str) -> dict[str, Any] | None:
    """The region's last reconciliation for its page: figures, sections, how many are open."""
    row = reconciliations.last(conn, region)
    if row is None:
        return None
    items = row["discrepancies"]
    return {"number": row["id"], "at": row["at"], "file": row["file"], "actor": row["actor"],
            "counts": row["counts"], "sections": sections(items),
            "open": len(reconciliations.open_items(row)),
            "accepted_by": row["accepted_by"], "accept_reason": row["accept_reason"],
            "requests": any(d["kind"] != "unmatched" for d in items)}


def last_request(conn: Any, region: str) -> tuple[str, bytes]:
    """The registry request of the region's last reconciliation: its file name and XLSX."""
    row = reconciliations.last(conn, region)
    if row is None:
        raise InvalidInput(_("region {region}: no registry reconciliation yet", region=region))
    data = request_xlsx(row["discrepancies"])
    return f"registry-request-{region}-{row['id']}.xlsx", data


__all__ = ["SECTIONS", "detail", "last_reconciliation", "last_request", "sections"]
