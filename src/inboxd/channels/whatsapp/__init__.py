"""The WhatsApp Cloud API adapter: webhook signature and parsing, Graph client, error table,
and the mapping of Texter message content to Cloud API payloads."""
