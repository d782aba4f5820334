"""Injected faults: what the next N Graph calls (all of them, or those to one recipient) go
through instead of the normal answer. Used to test a client's retry, backoff and failure paths."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import asdict, dataclass
from typing import Any, Literal

from inboxd.simulator.errors import GraphFault

FaultKind = Literal["http_500", "http_503", "timeout", "graph_error", "failed_status"]
Endpoint = Literal["messages", "media", "download", "templates", "any"]

_ids = itertools.count(1)


@dataclass
class Fault:
    kind: FaultKind
    remaining: int
    recipient: str | None = None  # a wa_id: only sends to this user (messages endpoint)
    endpoint: Endpoint = "messages"
    code: int | None = None  # graph_error / failed_status: the Graph error code
    http_status: int | None = None  # graph_error: the HTTP status (default: Meta's for the code)
    message: str | None = None
    details: str | None = None
    seconds: float = 30.0  # timeout: how long the call hangs
    accept_after_timeout: bool = False  # timeout: then process the call anyway (a late success)
    id: int = 0

    def view(self) -> dict[str, Any]:
        return asdict(self)


class Faults:
    def __init__(self) -> None:
        self.items: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        fault.id = next(_ids)
        self.items.append(fault)
        return fault

    def clear(self) -> None:
        self.items.clear()

    def take(self, endpoint: str, recipient: str | None, *, on_accept: bool) -> Fault | None:
        """The first fault that applies to this call (and count it). `on_accept` picks the
        `failed_status` faults, which act on a call that was otherwise accepted."""
        if not self.items:  # the common case, kept cheap
            return None
        for fault in self.items:
            if (fault.kind == "failed_status") != on_accept:
                continue
            if fault.endpoint not in ("any", endpoint):
                continue
            if fault.recipient is not None and fault.recipient != recipient:
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self.items.remove(fault)
            return fault
        return None


async def apply_request_fault(fault: Fault) -> None:
    """Raise what an injected request fault answers. Returns only for a timeout that ends in
    acceptance (the call then proceeds normally, late)."""
    if fault.kind == "http_500":
        raise GraphFault(131000, http_status=500, details=fault.details or "Injected HTTP 500")
    if fault.kind == "http_503":
        raise GraphFault(2, http_status=503, details=fault.details or "Injected HTTP 503")
    if fault.kind == "graph_error":
        code = fault.code if fault.code is not None else 1
        raise GraphFault(code, http_status=fault.http_status, message=fault.message, details=fault.details)
    if fault.kind == "timeout":
        await asyncio.sleep(fault.seconds)
        if fault.accept_after_timeout:
            return
        raise GraphFault(2, http_status=504, details=fault.details or "Injected timeout")
