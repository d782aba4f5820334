"""Upload a file (an addition to the Texter reference): `POST /files`, multipart.

Fields: `file` (required, the one file part), `filename` and `mediaType` (optional text
fields). With `mediaType` the upload must pass that type's WhatsApp rules (415, 413), exactly
like a media URL in Send a Message; without it any file up to the largest media limit is
taken, typed by its bytes. The answer's `fileId` goes into a later send's `media[].fileId`.

The form is parsed inside the handler, after the token check: declared as FastAPI `File()`
parameters it would be read (up to ~100 MB) before the dependencies run, i.e. for anyone.
Starlette spools the file part to a temporary file past 1 MB, and the handler streams that into
the file store in chunks, so the upload is never held in memory whole.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from inboxd.api.contract import answers, link, ok
from inboxd.api.deps import get_services, require
from inboxd.api.responses import JSON
from inboxd.domain.errors import InvalidRequest, PayloadTooLarge, Problems, UnsupportedMediaType, problem
from inboxd.domain.scopes import Scope
from inboxd.media.filenames import sanitize_filename
from inboxd.media.ingest import ingest_stream
from inboxd.media.limits import MAX_MEDIA_BYTES, MediaType
from inboxd.services import Services

router = APIRouter(tags=["files"])

FIELDS = ("file", "filename", "mediaType")
CHUNK_BYTES = 64 * 1024
MAX_TEXT_FIELD_BYTES = 4096

_FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": f"The file, at most {MAX_MEDIA_BYTES} bytes."},
        "filename": {"type": "string", "description": "Name to store (default: the file part's filename)."},
        "mediaType": {
            "type": "string",
            "enum": [t.value for t in MediaType],
            "description": "Check the file against WhatsApp's type and size rules for this media type.",
        },
    },
}


def _route_options() -> dict[str, Any]:
    options = require(Scope.SEND_SESSION_MESSAGE)
    options["openapi_extra"] = {
        **options["openapi_extra"],
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _FORM_SCHEMA}}},
    }
    return options


@router.post(
    "/files",
    summary="Upload a file (inboxd addition)",
    **_route_options(),
    **answers(
        ok("UploadedFile", links={"Share": link("Generate Public Media URL", "A public link to it", fileId="$response.body#/fileId")}),
        PayloadTooLarge("The file is larger than WhatsApp's limit for image media: 5 MB (5242880 bytes).",
                        details=[problem("body.file", "larger than 5 MB")]),
        UnsupportedMediaType("The file is text/html, which WhatsApp does not take as image media.",
                             details=[problem("body.file", "text/html is not an image type")]),
    ),
)
async def upload_file(request: Request, services: Annotated[Services, Depends(get_services)]) -> JSON:
    form = await _read_form(request)
    try:
        upload, filename, media_type = _fields(form)
        media = await ingest_stream(
            _chunks(upload),
            media_type,
            db=services.db,
            files=services.files,
            path="body.file",
            filename=sanitize_filename(filename) or upload.filename,
            source="upload",
        )
    finally:
        await form.close()  # deletes Starlette's spooled temporary file
    return JSON({"success": True, **media.as_json()})


async def _read_form(request: Request) -> FormData:
    try:
        return await request.form(max_files=1, max_fields=10, max_part_size=MAX_TEXT_FIELD_BYTES)
    except StarletteHTTPException as exc:
        if exc.status_code != 400:  # e.g. 413 from the body-size middleware
            raise
        reason = f"The multipart body could not be read: {exc.detail}"
        raise InvalidRequest(reason, details=[problem("body", str(exc.detail))]) from None


def _fields(form: FormData) -> tuple[UploadFile, str | None, MediaType | None]:
    problems = Problems()
    for name in form.keys():
        if name not in FIELDS:
            problems.add(f"body.{name}", "unknown field")
    for name in FIELDS:
        if len(form.getlist(name)) > 1:
            problems.add(f"body.{name}", "given more than once")
    upload = form.get("file")
    if upload is None:
        problems.add("body.file", "required: the file, as a multipart/form-data file part")
    elif not isinstance(upload, UploadFile):
        problems.add("body.file", "must be a file part (with a filename), not a text field")
    filename = form.get("filename")
    if filename is not None and not isinstance(filename, str):
        problems.add("body.filename", "must be a text field")
    media_type = form.get("mediaType")
    if media_type is not None and media_type not in set(MediaType):
        problems.add("body.mediaType", f"must be one of {', '.join(MediaType)}")
    problems.raise_if_any("The upload is invalid")
    assert isinstance(upload, UploadFile)
    return (
        upload,
        filename if isinstance(filename, str) else None,
        MediaType(media_type) if isinstance(media_type, str) else None,
    )


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK_BYTES):
        yield chunk
