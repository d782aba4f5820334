"""Agents (the people who work the inbox) and departments: their API shapes, requests, passwords
and the operations on them (docs/chats.md). Rules in `domain.agents`, queries in `store.agents`."""
