"""Inbound: persist each raw webhook first, acknowledge, then process it (dedup, chat upsert,
message insert, status update, media download), retrying failures in the background."""
