"""The names of every GuardDuty finding type (active and retired), from ``gdnb/data/finding_types.tsv``."""

from __future__ import annotations

import functools
from importlib import resources


@functools.cache
def finding_type_names() -> frozenset[str]:
    """Every finding type name GuardDuty documents (221 of them)."""
    text = resources.files("gdnb.data").joinpath("finding_types.tsv").read_text(encoding="utf-8")
    return frozenset(line.split("\t", 1)[0] for line in text.splitlines() if line and not line.startswith("#"))
