"""The outbound pipeline: accept a message into the outbox (same transaction as the message),
then workers deliver each chat in order, paced per account, with retries."""
