"""The name a stored file carries: from the client, else from the server's Content-Disposition,
else from the URL's last path segment, always sanitised.

The name is never used as a path (files are stored by hash), but it travels on: to WhatsApp as
a document's filename, into `Content-Disposition` of public links, into client UIs. So it is
reduced to one plain segment: no directories, no control or invisible format characters
(U+202E RIGHT-TO-LEFT OVERRIDE turns `invoice\u202efdp.exe` into "invoiceexe.pdf" on screen),
none of the characters Windows forbids, no leading dots, bounded length.
"""

from __future__ import annotations

import email.message
import unicodedata

import httpx

MAX_FILENAME_CHARS = 200
_FORBIDDEN = frozenset('<>:"|?*')
_MAX_EXTENSION_CHARS = 16


def _clean_char(ch: str) -> str:
    category = unicodedata.category(ch)
    if ch in "\t\n\r\x0b\x0c" or category.startswith("Z"):
        return " "
    if category.startswith("C"):  # controls, format characters (bidi overrides, zero-width), unassigned
        return ""
    return "_" if ch in _FORBIDDEN else ch


def sanitize_filename(name: str | None) -> str | None:
    if not name:
        return None
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(map(_clean_char, name))
    name = " ".join(name.split()).strip(" .")
    if not name:
        return None
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and len(ext) <= _MAX_EXTENSION_CHARS:  # keep the extension
            name = stem[: MAX_FILENAME_CHARS - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            name = name[:MAX_FILENAME_CHARS].rstrip(" .")
    return name or None


def content_disposition_filename(value: str | None) -> str | None:
    """The `filename` (or RFC 6266/5987 `filename*`) parameter of a Content-Disposition value."""
    if not value:
        return None
    message = email.message.Message()  # the standard library's RFC 2231 parameter decoding
    message["Content-Disposition"] = value
    try:
        return message.get_filename()
    except (LookupError, ValueError):  # an unknown charset in filename*
        return None


def filename_from_response(headers: httpx.Headers, url: httpx.URL) -> str | None:
    return sanitize_filename(content_disposition_filename(headers.get("content-disposition"))) or sanitize_filename(
        url.path.rsplit("/", 1)[-1]
    )
