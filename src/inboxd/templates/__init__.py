"""Template messages (Texter API v2 §7; docs/templates.md): the way to reach a contact outside
WhatsApp's 24-hour window.

- `lifecycle`: create, localize, submit to Meta, update, delete; `sync`: statuses from Meta
  (webhook and on demand);
- `sending`: Send Template Message, through the same outbox, ordering and idempotency as
  session messages;
- `subscriptions`: template (un)subscription and stop words; `reply_actions`: what happens when
  the contact answers a template;
- `components`, `send_request`, `requests`, `limits`, `phones`: the pure rules;
  `store`, `shapes`: rows and their Texter JSON; `wiring`: the listeners and webhook handler.
"""
