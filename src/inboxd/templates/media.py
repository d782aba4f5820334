"""A template's header media (a send's `header`, or a localization's default header): fetched
from its URL or found by `fileId` exactly like Send a Message media (size, type, SSRF guard),
stored, and referenced by `fileId`; the worker uploads it to Graph at send time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from inboxd.domain.errors import UnsupportedMediaType, problem
from inboxd.media.ingest import MediaFile, ingest_url, load_file

if TYPE_CHECKING:
    from inboxd.services import Services

# Meta's OpenAPI file, DocumentParameter: "Only PDF documents are supported for media-based
# message templates."
TEMPLATE_DOCUMENT_TYPE = "application/pdf"


async def resolve_header(services: Services, header: dict[str, Any], header_format: str, path: str) -> dict[str, Any]:
    """`{type, fileId, filename?, contentType, url?}` for a media header value (`url` or `fileId`);
    a value already resolved (it has `fileId` and `contentType`) is returned as it is."""
    media_type = header_format.lower()
    if "fileId" in header and "contentType" in header:
        return header
    media: MediaFile
    if "url" in header:
        media = await ingest_url(
            header["url"], media_type, db=services.db, files=services.files, settings=services.settings,
            path=f"{path}.url", filename=header.get("filename"),
        )
    else:
        media = await load_file(header["fileId"], media_type, db=services.db, path=f"{path}.fileId")
    if media_type == "document" and media.content_type != TEMPLATE_DOCUMENT_TYPE:
        reason = f"a template's document header must be a PDF (this file is {media.content_type})"
        where = f"{path}.url" if "url" in header else f"{path}.fileId"
        raise UnsupportedMediaType(f"{where}: {reason}.", details=[problem(where, reason)])
    out = {"type": media_type, "fileId": media.file_id, "contentType": media.content_type}
    filename = header.get("filename") or media.filename
    if filename:
        out["filename"] = filename
    if "url" in header:
        out["url"] = header["url"]
    return out
