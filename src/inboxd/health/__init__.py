"""Channel health (reference §9): problems that tell an operator a WhatsApp number is in trouble —
raised from Graph's answers, Meta's account webhooks and webhook silence, resolved when the signal
clears or by an operator. See docs/channel-health.md.

`kinds` (every problem kind, one table), `webhooks` (Meta's account webhooks → signals),
`problems` (storage and the Problem object), `bookkeeping` (per-account state between signals),
`monitor` (where the signals come in, and the loop)."""
