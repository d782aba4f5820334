"""24-hex, time-ordered ids (the shape of a MongoDB ObjectId, as in the Texter reference).

4 bytes of Unix seconds, 5 random bytes fixed per process, 3 bytes of a counter. Ids made by
one process sort in creation order; across processes they sort by the second.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import threading
import time

_PROCESS_RANDOM = secrets.token_bytes(5)
_counter = itertools.count(secrets.randbelow(0xFFFFFF))
_lock = threading.Lock()

ID_PATTERN = re.compile(r"^[0-9a-f]{24}$")


def _forked() -> None:  # a child must not repeat its parent's ids
    global _PROCESS_RANDOM, _PROCESS_HEX
    _PROCESS_RANDOM = secrets.token_bytes(5)
    _PROCESS_HEX = _PROCESS_RANDOM.hex()


_PROCESS_HEX = _PROCESS_RANDOM.hex()
# Not os.getpid() on every id (a system call; new_id runs several times per message).
os.register_at_fork(after_in_child=_forked)


def new_id(now: float | None = None) -> str:
    seconds = int(time.time() if now is None else now) & 0xFFFFFFFF
    with _lock:
        count = next(_counter) & 0xFFFFFF
    return f"{seconds:08x}{_PROCESS_HEX}{count:06x}"


def is_id(value: str) -> bool:
    return bool(ID_PATTERN.match(value))
