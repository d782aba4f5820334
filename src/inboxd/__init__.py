"""inboxd: a self-hosted business messaging inbox server, WhatsApp first."""

__version__ = "0.1.0"
