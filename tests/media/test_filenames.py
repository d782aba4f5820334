from __future__ import annotations

import httpx
import pytest

from inboxd.media.filenames import (
    MAX_FILENAME_CHARS,
    content_disposition_filename,
    filename_from_response,
    sanitize_filename,
)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\photo.jpg", "photo.jpg"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # bidi override removed
        ("a\x00b\x1fc\x7f.txt", "abc.txt"),
        ('what?*<>|":.png', "what_______.png"),
        ("  ..hidden  ", "hidden"),
        ("many   spaces\tand\nlines.txt", "many spaces and lines.txt"),
        ("", None),
        (None, None),
        ("///", None),
        ("...", None),
    ],
)
def test_sanitize(raw: str | None, clean: str | None) -> None:
    assert sanitize_filename(raw) == clean


def test_long_names_keep_their_extension() -> None:
    name = sanitize_filename("x" * 500 + ".docx")
    assert name is not None and len(name) == MAX_FILENAME_CHARS and name.endswith(".docx")


def test_content_disposition() -> None:
    assert content_disposition_filename('attachment; filename="q3 report.pdf"') == "q3 report.pdf"
    assert content_disposition_filename("attachment; filename*=UTF-8''na%C3%AFve.pdf") == "na\u00efve.pdf"
    assert content_disposition_filename("inline") is None
    assert content_disposition_filename(None) is None


def test_response_name_prefers_content_disposition_then_the_url_path() -> None:
    url = httpx.URL("https://cdn.example/files/a%20b.png?sig=secret")
    assert filename_from_response(httpx.Headers({"content-disposition": 'attachment; filename="../x.pdf"'}), url) == "x.pdf"
    assert filename_from_response(httpx.Headers(), url) == "a b.png"
    assert filename_from_response(httpx.Headers(), httpx.URL("https://cdn.example/")) is None
