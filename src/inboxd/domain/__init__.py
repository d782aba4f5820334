"""Pure logic, no I/O: content models, limits, the window rule, statuses, scopes, ids."""
