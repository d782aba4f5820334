"""Event subscriptions (Texter "scenarios" with a `request` action), delivered reliably from an
outbox: see docs/events.md.

- `catalogue`: the trigger events and their providers;
- `expression`, `placeholders`, `params`, `conditions`, `loaders`, `actions`, `scenario`: the
  scenario language, validated at import and compiled;
- `operations`, `authoring`, `components`, `bodies`: writing scenarios step by step (copy, empty
  scenarios, drafts, revisions) and List Components;
- `matching`: the listener that queues deliveries inside the change's transaction;
- `worker`, `retry`, `signing`, `transport`: delivery;
- `store`: the tables; `service`: the part wired into `Services`.
"""

from inboxd.events.service import EventService

__all__ = ["EventService"]
