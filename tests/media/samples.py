"""Small real files of each type, built in code (no binary fixtures to trust blindly)."""

from __future__ import annotations

import base64
import io
import struct
import zipfile
import zlib

# A 16x16 baseline JFIF JPEG: CPython's Lib/test/imghdrdata/python.jpg (PSF license).
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDREN"
    "Dg8QEBEQCgwSExIQEw8QEBD/2wBDAQMDAwQDBAgEBAgQCwkLEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ"
    "EBAQEBAQEBAQEBAQEBD/wAARCAAQABADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAABwQF/8QAJBAAAQQBBAICAwAA"
    "AAAAAAAAAQIDBAYFBwgSExEiABQJMTL/xAAVAQEBAAAAAAAAAAAAAAAAAAAABv/EACMRAAECBQMFAAAAAAAAAAAAAAECEQME"
    "BQYhABIxFRZhgeH/2gAMAwEAAhEDEQA/ABSm0mobc8HmExLUlRzzEWPkJWW+ulrsaUVAseUgslSlH9LKuPryIKuWPZdskzXm"
    "m3fX5m2nF4GlVxx/HOpx4ks51+MiU/Iaad7UcUo4tILoS4kqcWkezS0hO/HvuRp0rO6hWnWO1UisZVuFi4GFeyEpmGepa5S5"
    "SWVPuciFKRFLgSrwetnyPIB+Vb4N9mKhQMzo5po9XLdDs9d6ZVix2VEhiL9kuNPxw2gEKcDQ/rs8AuA8VAe0vdl7VOYn+27f"
    "lGAUgmITjbhSmCg3BYlyeWDkMolvw4KOp1KM6iCNvngZHwetf//Z"
)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int = 1, height: int = 1, rgb: tuple[int, int, int] = (255, 0, 0)) -> bytes:
    """A real 8-bit RGB PNG of one colour."""
    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + _png_chunk(b"IDAT", zlib.compress(row * height))
        + _png_chunk(b"IEND", b"")
    )


PNG = png()
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"


def padded(data: bytes, size: int) -> bytes:
    """`data` followed by filler up to `size` bytes (still sniffs as `data`'s type)."""
    return data + b"\x00" * (size - len(data))


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    box = b"ftyp" + major + b"\x00\x00\x02\x00" + b"".join(compatible)
    return struct.pack(">I", len(box) + 4) + box + struct.pack(">I", 8) + b"free"


MP4 = ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41") + b"\x00\x00\x00\x08mdat"
MP4_MP42 = ftyp(b"mp42", b"mp42", b"isom")
THREE_GP = ftyp(b"3gp4", b"3gp4", b"isom")
THREE_G2 = ftyp(b"3g2a", b"3g2a")
M4A = ftyp(b"M4A ", b"M4A ", b"mp42", b"isom")
MOV = ftyp(b"qt  ", b"qt  ")
HEIC = ftyp(b"heic", b"mif1", b"heic")
UNKNOWN_BRAND_MP4 = ftyp(b"xyz1", b"isom")

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"

HTML = b"<!DOCTYPE html>\n<html><head><title>Hi</title></head><body><p>Not an image.</p></body></html>\n"
TEXT = "Meeting notes \u2014 caf\u00e9, \u65e5\u672c\u8a9e, emoji \U0001f600\n".encode()


def ogg(first_packet: bytes) -> bytes:
    header = b"OggS" + bytes([0, 2]) + b"\x00" * 8 + b"\x01\x00\x00\x00" + b"\x00" * 4 + b"\x00" * 4
    return header + bytes([1, len(first_packet)]) + first_packet


OGG_OPUS = ogg(b"OpusHead" + bytes([1, 1]) + struct.pack("<HIhB", 312, 48000, 0, 0))
OGG_VORBIS = ogg(b"\x01vorbis" + b"\x00" * 22)
AMR = b"#!AMR\n" + b"\x3c" + b"\x00" * 31
AMR_WB = b"#!AMR-WB\n" + b"\x04" + b"\x00" * 17
AAC = bytes([0xFF, 0xF1, 0x50, 0x80, 0x02, 0x1F, 0xFC]) + b"\x00" * 9
MP3_FRAME = bytes([0xFF, 0xFB, 0x90, 0x64]) + b"\x00" * 413
MP3 = MP3_FRAME * 2


def id3(payload: bytes, tag_size: int = 20) -> bytes:
    syncsafe = bytes([(tag_size >> 21) & 0x7F, (tag_size >> 14) & 0x7F, (tag_size >> 7) & 0x7F, tag_size & 0x7F])
    return b"ID3\x04\x00\x00" + syncsafe + b"\x00" * tag_size + payload


MP3_ID3 = id3(MP3)
AAC_ID3 = id3(AAC)


def zip_file(entries: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buf.getvalue()


CT = ("[Content_Types].xml", b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
RELS = ("_rels/.rels", b'<?xml version="1.0"?><Relationships/>')


def ooxml(main_part: str, *, first: list[tuple[str, bytes]] | None = None, macros: bool = False) -> bytes:
    """An OOXML package; `first` entries go before `[Content_Types].xml` (as openpyxl writes)."""
    entries = list(first or []) + [CT, RELS, (main_part, b'<?xml version="1.0"?><x/>')]
    if macros:
        entries.append((main_part.split("/")[0] + "/vbaProject.bin", b"\xd0\xcf\x11\xe0"))
    return zip_file(entries)


DOCX = ooxml("word/document.xml")
XLSX = ooxml("xl/workbook.xml")
PPTX = ooxml("ppt/presentation.xml")
DOCM = ooxml("word/document.xml", macros=True)
PLAIN_ZIP = zip_file([("readme.txt", b"hello"), ("data/a.csv", b"1,2")])
ODT = zip_file([("mimetype", b"application/vnd.oasis.opendocument.text"), ("content.xml", b"<x/>")])


def _ole_entry(name: str, kind: int) -> bytes:
    encoded = (name + "\0").encode("utf-16-le")
    return encoded.ljust(64, b"\0") + struct.pack("<HBB", len(encoded), kind, 1) + b"\0" * 60


def ole(stream: str, *, sectors_before_directory: int = 0, content: bytes = b"") -> bytes:
    """A minimal OLE2 compound file whose directory names `stream`; `content` fills the sectors
    before the directory (so the directory can sit past the first 8 KiB, as in real .doc files)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + struct.pack("<HHHH", 0x3E, 3, 0xFFFE, 9)
    header = header.ljust(48, b"\0") + struct.pack("<I", sectors_before_directory)
    header = header.ljust(512, b"\0")
    filler = content.ljust(512 * sectors_before_directory, b"\0")[: 512 * sectors_before_directory]
    directory = (_ole_entry("Root Entry", 5) + _ole_entry(stream, 2)).ljust(512, b"\0")
    return header + filler + directory


DOC = ole("WordDocument")
XLS = ole("Workbook")
PPT = ole("PowerPoint Document")
MSI_LIKE = ole("\u4840\u3b3f\u4577")  # an OLE2 file that is not an Office document
