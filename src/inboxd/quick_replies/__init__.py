"""Quick replies (reference §8): canned answers of one or more Send a Message contents, targeted
at channel accounts or single chats, and sent into a chat through the delivery outbox.
`model` (the rules), `store` (tables and the Texter shape), `service` (create/update/delete/send).
See docs/quick-replies.md."""
