"""The rate limiter of a process: per principal, the units it leased from the shared bucket
(`store.rate_limits`) and spends locally, so most requests cost a dictionary look-up and a
decrement, and the database sees one short transaction per `Policy.lease_units` requests.

Units leased and not spent within `LEASE_SECONDS` lapse (the client went to another process, or
stopped): with N processes a principal gets at most its burst plus about N leases at once, never
more than the bucket's rate over time. A busy principal's next lease is taken in the background
when a quarter of the units are left or the lease is about to lapse, so its requests do not wait
for the database (on SQLite, behind the single writer). A principal whose shared bucket was empty is refused here,
without the database, until the bucket holds a unit again, so a flood of refused requests costs
no writes. Concurrent requests of one principal share one lease transaction.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass

from inboxd.domain.clock import now_ms
from inboxd.domain.rate_limits import Policy
from inboxd.store import rate_limits as buckets
from inboxd.store.db import Database

log = logging.getLogger(__name__)

LEASE_SECONDS = 1.0
PREFETCH_SECONDS = 0.25  # the next lease is taken this long before the current one lapses
MAX_BUDGETS = 10_000  # principals remembered before the lapsed ones are forgotten


@dataclass(slots=True)
class Budget:
    policy: Policy
    units: int = 0  # leased, not yet spent
    expires: float = 0.0  # monotonic time at which unspent units lapse
    shared_level: float = 0.0  # what the shared bucket held after the last lease
    leased_at: float = 0.0
    empty_until: float = 0.0  # the shared bucket was empty: refuse until then
    pending: asyncio.Future[None] | None = None  # a lease transaction under way

    def level(self, now: float) -> float:
        """Units this principal could still spend now (this process's view, for the headers)."""
        return min(float(self.policy.burst), self.units + self.policy.refill(self.shared_level, now - self.leased_at))

    def retry_after(self, now: float) -> int:
        """Whole seconds until a request may be accepted again (`Retry-After`, at least 1)."""
        return max(1, math.ceil(self.empty_until - now))


class RateLimiter:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._budgets: dict[str, Budget] = {}
        self._tasks: set[asyncio.Task[bool]] = set()

    async def take(self, principal: str, policy: Policy) -> tuple[bool, Budget]:
        """One unit for a request of `principal`: whether it may go on, and its budget."""
        budget = self._budgets.get(principal)
        if budget is None:
            budget = self._remember(principal, policy)
        budget.policy = policy  # a token's limit may have changed
        now = time.monotonic()
        while True:
            if budget.units > 0 and now < budget.expires:
                budget.units -= 1
                if budget.pending is None and (now > budget.expires - PREFETCH_SECONDS
                                               or budget.units * 4 < budget.policy.lease_units):
                    self._prefetch(principal, budget)
                return True, budget
            if now < budget.empty_until:
                return False, budget
            if budget.pending is not None:
                await budget.pending
            elif not await self._lease(principal, budget):
                return True, budget  # the database failed: let the request go (see _lease)
            now = time.monotonic()

    def _prefetch(self, principal: str, budget: Budget) -> None:
        """The next lease, taken in the background while this one still has units (or time), so
        a busy principal's requests never wait for the database."""
        budget.pending = asyncio.get_running_loop().create_future()
        task = asyncio.get_running_loop().create_task(self._lease(principal, budget, keep=True))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _lease(self, principal: str, budget: Budget, *, keep: bool = False) -> bool:
        """Lease units from the shared bucket (`keep`: a prefetch, added to the units left)."""
        if budget.pending is None:
            budget.pending = asyncio.get_running_loop().create_future()
        try:
            async with self.db.write() as conn:
                granted, level = await buckets.take(conn, principal, budget.policy, budget.policy.lease_units, now_ms())
        except Exception:
            # A limiter that cannot reach the database must not take the API down with it; the
            # request will meet the same database anyway.
            log.warning("rate limiter: could not lease units for %s; letting the request through", principal,
                        exc_info=True)
            return False
        finally:
            pending, budget.pending = budget.pending, None
            pending.set_result(None)
        now = time.monotonic()
        left = budget.units if keep and now < budget.expires else 0
        budget.units, budget.shared_level, budget.leased_at = left + granted, level, now
        budget.expires = now + LEASE_SECONDS
        budget.empty_until = now + budget.policy.seconds_until(level) if granted == 0 else 0.0
        return True

    def _remember(self, principal: str, policy: Policy) -> Budget:
        if len(self._budgets) >= MAX_BUDGETS:
            now = time.monotonic()
            for key in [k for k, b in self._budgets.items() if b.pending is None and b.expires < now]:
                del self._budgets[key]
        budget = self._budgets[principal] = Budget(policy)
        return budget
