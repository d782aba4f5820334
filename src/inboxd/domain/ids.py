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
_pid = os.getpid()

ID_PATTERN = re.compile(r"^[0-9a-f]{24}$")


def new_id(now: float | None = None) -> str:
    global _PROCESS_RANDOM, _pid
    if os.getpid() != _pid:  # forked: a child must not repeat its parent's ids
        _pid = os.getpid()
        _PROCESS_RANDOM = secrets.token_bytes(5)
    seconds = int(time.time() if now is None else now) & 0xFFFFFFFF
    with _lock:
        count = next(_counter) & 0xFFFFFF
    return seconds.to_bytes(4, "big").hex() + _PROCESS_RANDOM.hex() + count.to_bytes(3, "big").hex()


def is_id(value: str) -> bool:
    return bool(ID_PATTERN.match(value))
