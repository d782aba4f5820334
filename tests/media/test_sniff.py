"""Sniffing reads the bytes only, knows every type WhatsApp takes, and never lets markup pass
as an image or a document."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxd.media import limits
from inboxd.media.sniff import HEAD_BYTES, OCTET_STREAM, Sniffer, sniff
from tests.media import samples

KNOWN = [
    (samples.JPEG, "image/jpeg"),
    (samples.PNG, "image/png"),
    (samples.png(7, 5), "image/png"),
    (samples.GIF, "image/gif"),
    (samples.WEBP, "image/webp"),
    (samples.MP4, "video/mp4"),
    (samples.MP4_MP42, "video/mp4"),
    (samples.UNKNOWN_BRAND_MP4, "video/mp4"),
    (samples.THREE_GP, "video/3gpp"),
    (samples.THREE_G2, "video/3gpp2"),
    (samples.M4A, "audio/mp4"),
    (samples.MOV, "video/quicktime"),
    (samples.HEIC, "image/heic"),
    (samples.PDF, "application/pdf"),
    (samples.TEXT, "text/plain"),
    (samples.HTML, "text/html"),
    (samples.OGG_OPUS, "audio/ogg"),
    (samples.OGG_VORBIS, "application/ogg"),
    (samples.AMR, "audio/amr"),
    (samples.AMR_WB, "audio/amr-wb"),
    (samples.AAC, "audio/aac"),
    (samples.AAC_ID3, "audio/aac"),
    (samples.MP3, "audio/mpeg"),
    (samples.MP3_ID3, "audio/mpeg"),
    (samples.DOCX, limits.DOCX),
    (samples.XLSX, limits.XLSX),
    (samples.PPTX, limits.PPTX),
    (samples.DOCM, "application/vnd.ms-word.document.macroEnabled.12"),
    (samples.PLAIN_ZIP, "application/zip"),
    (samples.ODT, "application/zip"),
    (samples.DOC, limits.DOC),
    (samples.XLS, limits.XLS),
    (samples.PPT, limits.PPT),
    (samples.MSI_LIKE, "application/x-ole-storage"),
    (b"", OCTET_STREAM),
    (bytes(range(256)), OCTET_STREAM),
]


@pytest.mark.parametrize(("data", "expected"), KNOWN, ids=[e for _, e in KNOWN])
def test_known_types(data: bytes, expected: str) -> None:
    assert sniff(data) == expected


def test_every_type_whatsapp_takes_is_recognised() -> None:
    found = {sniff(data) for data, _ in KNOWN}
    for limit in limits.LIMITS.values():
        assert set(limit.content_types) <= found, limit.media_type


@pytest.mark.parametrize("chunk", [1, 7, 512, 4096, HEAD_BYTES, 100_000])
@pytest.mark.parametrize(("data", "expected"), KNOWN[:34], ids=[e for _, e in KNOWN[:34]])
def test_streaming_in_any_chunk_size_gives_the_same_answer(data: bytes, expected: str, chunk: int) -> None:
    sniffer = Sniffer()
    for i in range(0, len(data), chunk):
        sniffer.feed(data[i : i + chunk])
    assert sniffer.finish() == expected


# --- markup ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "page",
    [
        b"<html><body>x</body></html>",
        b"\xef\xbb\xbf  \r\n\t<!doctype HTML><title>x</title>",
        b"<HEAD><meta charset=utf-8>",
        b"<script>alert(1)</script>",
        b"<!-- comment --><div>",
        b"<p>hello",
        b"Some preamble text\n\n<html>\n<body>late tag</body></html>",
        b"plain words then <iframe src=x></iframe>",
        b"Hello <script src='//evil'></script>",
    ],
)
def test_html_is_html_even_without_a_leading_doctype(page: bytes) -> None:
    assert sniff(page) == "text/html"


def test_svg_and_xml_are_not_text() -> None:
    assert sniff(b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>') == "image/svg+xml"
    assert sniff(b"<svg onload=alert(1)>") == "image/svg+xml"
    assert sniff(b'<?xml version="1.0"?><note>x</note>') == "application/xml"


def test_text_that_merely_mentions_angle_brackets_is_text() -> None:
    assert sniff(b"if a < b and c > d then <3\n") == "text/plain"


_OPENERS = ["<html>", "<HTML ", "<!DOCTYPE html>", "<head>", "<body>", "<script>", "<iframe ", "<div>", "<table>", "<p>"]
_BAD_FOR_SENDING = set(limits.LIMITS[limits.MediaType.IMAGE].content_types) | set(
    limits.LIMITS[limits.MediaType.DOCUMENT].content_types
)


@settings(max_examples=300, deadline=None)
@given(
    lead=st.sampled_from(["", "\ufeff", "  \n", "\t\r\n "]),
    opener=st.sampled_from(_OPENERS),
    body=st.text(max_size=300),
)
def test_html_never_passes_as_an_image_or_a_document(lead: str, opener: str, body: str) -> None:
    page = (lead + opener + body).encode()
    assert sniff(page) not in _BAD_FOR_SENDING


# --- text -----------------------------------------------------------------------------

def test_text_must_be_utf8_to_the_last_byte() -> None:
    good = ("\u00e9t\u00e9 " * 4000).encode()  # > HEAD_BYTES, multi-byte characters across chunks
    assert len(good) > HEAD_BYTES
    assert sniff(good) == "text/plain"
    assert sniff(good + b"\xff") == OCTET_STREAM  # invalid UTF-8 after the head
    assert sniff(good + b"\xc3") == OCTET_STREAM  # ends in the middle of a character
    assert sniff(good + b"\x00") == OCTET_STREAM  # NUL after the head
    assert sniff("caf\u00e9".encode("latin-1")) == OCTET_STREAM


def test_text_with_a_binary_control_byte_is_not_text() -> None:
    assert sniff(b"abc\x01def") == OCTET_STREAM
    assert sniff(b"tabs\tand\r\nnewlines\x0cform feed") == "text/plain"


# --- containers whose verdict needs the whole file ------------------------------------

def test_ooxml_is_found_from_the_central_directory_whatever_the_entry_order() -> None:
    openpyxl_order = samples.ooxml("xl/workbook.xml", first=[("docProps/app.xml", b"<x/>"), ("xl/styles.xml", b"<y/>")])
    assert sniff(openpyxl_order) == limits.XLSX
    # The main part's name lies far past the first 8 KiB: a large incompressible first entry.
    big_first = samples.ooxml("word/document.xml", first=[("docProps/thumbnail.jpeg", random.Random(1).randbytes(100_000))])
    assert len(big_first) > 10 * HEAD_BYTES
    assert sniff(big_first) == limits.DOCX


def test_zip_without_content_types_is_zip() -> None:
    fake = samples.zip_file([("word/document.xml", b"<x/>")])
    assert sniff(fake) == "application/zip"


def test_truncated_zip_is_zip() -> None:
    assert sniff(samples.DOCX[: len(samples.DOCX) // 2]) == "application/zip"


def test_ole_directory_past_the_head_is_found() -> None:
    doc = samples.ole("WordDocument", sectors_before_directory=40)
    assert len(doc) > 2 * HEAD_BYTES
    assert sniff(doc) == limits.DOC


def test_ole_stream_names_inside_content_do_not_count() -> None:
    # A spreadsheet whose cell text contains "WordDocument" in UTF-16, at an unaligned offset.
    content = b"\x00" * 3 + ("WordDocument\0").encode("utf-16-le") + b"\x00" * 64
    xls = samples.ole("Workbook", sectors_before_directory=2, content=content)
    assert sniff(xls) == limits.XLS


def test_a_word_file_with_an_embedded_workbook_is_a_word_file() -> None:
    doc = samples.ole("Workbook", sectors_before_directory=1, content=b"") + samples._ole_entry("WordDocument", 2).ljust(512, b"\0")
    assert sniff(doc) == limits.DOC


# --- the head ------------------------------------------------------------------------

def test_candidates_are_known_after_the_head() -> None:
    sniffer = Sniffer()
    sniffer.feed(samples.HTML[:10])
    assert sniffer.candidates is None
    sniffer.feed(samples.HTML[10:] + b" " * HEAD_BYTES)
    assert sniffer.candidates == {"text/html"}

    zipped = Sniffer()
    zipped.feed(samples.padded(samples.DOCX[:HEAD_BYTES], HEAD_BYTES))
    assert limits.DOCX in (zipped.candidates or set()) and "application/zip" in (zipped.candidates or set())


def test_mp3_with_a_long_id3_tag_is_mpeg() -> None:
    cover_art = samples.id3(samples.MP3, tag_size=50_000)
    assert sniff(cover_art) == "audio/mpeg"


def test_reserved_mpeg_header_values_are_not_audio() -> None:
    assert sniff(bytes([0xFF, 0xFB, 0xF0, 0x00]) + b"\x00" * 10) == OCTET_STREAM  # bitrate index 15
    assert sniff(bytes([0xFF, 0xEB, 0x90, 0x00]) + b"\x00" * 10) == OCTET_STREAM  # version "reserved"
