"""Inbound media: fetched at once through the media id, because the URL lives 5 minutes.

A 404 on the URL means it expired: resolve the media id again and retry. Transient failures
are retried a few times here, then the whole webhook event is retried later (with a fresh URL);
a media id Graph refuses outright is a permanent failure, recorded on the message.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from inboxd.channels.whatsapp.errors import Disposition, GraphError
from inboxd.channels.whatsapp.graph import GraphClient, MediaUrlExpired
from inboxd.channels.whatsapp.inbound_parser import MediaRef
from inboxd.media.filestore import FileStore, StoredBlob, TooLarge
from inboxd.store.accounts import ChannelAccount

INBOUND_MAX_BYTES = 100 * 1024 * 1024  # WhatsApp's own ceiling for a file a user sends
ATTEMPTS = 3


class MediaUnavailable(Exception):
    """Permanent: Graph will not give us this media."""


@dataclass(frozen=True)
class FetchedMedia:
    blob: StoredBlob
    content_type: str


async def fetch_media(graph: GraphClient, files: FileStore, account: ChannelAccount, ref: MediaRef) -> FetchedMedia:
    last: GraphError | None = None
    for attempt in range(ATTEMPTS):
        try:
            info = await graph.media_info(account, ref.media_id)
            async with graph.download(account, str(info["url"])) as response:
                blob = await files.put_stream(response.aiter_bytes(), max_size=INBOUND_MAX_BYTES)
            mime = str(info.get("mime_type") or ref.mime_type or "application/octet-stream")
            return FetchedMedia(blob, mime.split(";")[0].strip())
        except TooLarge as exc:
            raise MediaUnavailable(f"media larger than {INBOUND_MAX_BYTES} bytes") from exc
        except MediaUrlExpired as exc:
            last = exc  # the URL expired: resolve the id again (whatever error code came with the 404)
        except GraphError as exc:
            if exc.code is not None and exc.disposition is Disposition.FAILED:
                raise MediaUnavailable(str(exc)) from exc
            last = exc  # transient: resolve the id again and retry
        await asyncio.sleep(0.2 * (attempt + 1))
    assert last is not None
    raise last
