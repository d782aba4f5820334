"""What a stored scenario definition can raise (validation itself collects `domain.errors.Problems`)."""

from __future__ import annotations


class ScenarioInvalid(Exception):
    """A stored definition that no longer compiles (kept for the log, never shown to a client)."""
