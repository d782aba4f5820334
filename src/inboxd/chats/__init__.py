"""The human side of a chat: the lifecycle's store side (transitions with their system message
and events), round robin, and chat properties (docs/chats.md). Rules in `domain.lifecycle`."""
