from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.simulator.support import Receiver, RunningSimulator, quick_config, receiving, running_simulator


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving() as r:
        yield r


@pytest.fixture
async def simulator(receiver: Receiver) -> AsyncIterator[RunningSimulator]:
    """A standalone simulator whose webhooks go to `receiver`."""
    async with running_simulator(quick_config(callback_url=receiver.url)) as running:
        yield running
