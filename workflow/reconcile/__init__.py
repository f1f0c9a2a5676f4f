"""Step 2's registry reconciliation: the region's own list of schools against the registry."""

from workflow.reconcile.compare import RegistrySchool, Result, compare, normalise
from workflow.reconcile.listfile import CoordinatorList, ListRow, read_list
from workflow.reconcile.service import (
    Reconciliation,
    accept,
    entered,
    reconcile,
    reconcile_as_registered,
    request_xlsx,
    sample_list,
)

__all__ = [
    "CoordinatorList",
    "ListRow",
    "Reconciliation",
    "RegistrySchool",
    "Result",
    "accept",
    "compare",
    "entered",
    "normalise",
    "read_list",
    "reconcile",
    "reconcile_as_registered",
    "request_xlsx",
    "sample_list",
]
