"""The `inboxd` command line."""
