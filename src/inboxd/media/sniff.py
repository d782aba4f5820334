"""The content type of a file, from its bytes alone.

The URL's extension and the server's (or the uploader's) Content-Type are never consulted:
both are whatever the sender says, and WhatsApp refuses a file whose bytes do not match its
declared type (error 131053). `filetype` knows most magic numbers; this module adds what it
lacks or gets wrong for the types WhatsApp takes:

- ISO BMFF (`ftyp`): mp4 vs 3gpp vs m4a vs QuickTime/HEIF by brand (`filetype` tests the 3gp
  brand at the wrong offset and calls every `isom` file video/mp4).
- Ogg: `audio/ogg` only when the stream is Opus (the only Ogg codec WhatsApp plays); other Ogg
  streams are `application/ogg`.
- AMR (narrow band only), AAC in ADTS frames, MPEG audio frames with or without an ID3v2 tag.
- ZIP: docx/xlsx/pptx only when the central directory (at the end of the file) lists
  `[Content_Types].xml` and the `word/`, `xl/` or `ppt/` parts; with a VBA project the
  macro-enabled type (which WhatsApp does not take); anything else is `application/zip`.
- OLE2 compound files: doc/xls/ppt by the directory entry of their main stream
  (`WordDocument`, `Workbook`/`Book`, `PowerPoint Document`), found anywhere in the file.
- Markup (HTML, XML, SVG) is recognised before text, so a web page is never `text/plain`,
  let alone an image or a document.
- `text/plain`: the whole file is UTF-8 without NUL or other binary control bytes.

Some verdicts need the whole file (the ZIP directory is at its end, the OLE directory can be
anywhere, text must be UTF-8 to the last byte), so `Sniffer` is fed the stream chunk by chunk
and answers at `finish()`. After the first `HEAD_BYTES` it already knows the `candidates` the
final answer can be, so a caller can refuse a wrong type without downloading the rest.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile

import filetype

from inboxd.media.limits import DOC, DOCX, PPT, PPTX, XLS, XLSX

HEAD_BYTES = 8192

OCTET_STREAM = "application/octet-stream"
ZIP = "application/zip"
OLE2 = "application/x-ole-storage"
TEXT = "text/plain"
HTML = "text/html"
XML = "application/xml"
SVG = "image/svg+xml"
DOCM = "application/vnd.ms-word.document.macroEnabled.12"
XLSM = "application/vnd.ms-excel.sheet.macroEnabled.12"
PPTM = "application/vnd.ms-powerpoint.presentation.macroEnabled.12"

# What a provisional verdict from the head can still turn into once the whole file is seen.
_OUTCOMES: dict[str, frozenset[str]] = {
    ZIP: frozenset({ZIP, DOCX, XLSX, PPTX, DOCM, XLSM, PPTM}),
    OLE2: frozenset({OLE2, DOC, XLS, PPT}),
    TEXT: frozenset({TEXT, OCTET_STREAM}),
}


def sniff(data: bytes) -> str:
    """The content type of a whole file held in memory."""
    sniffer = Sniffer()
    sniffer.feed(data)
    return sniffer.finish()


class Sniffer:
    """Streaming sniffer: `feed()` every chunk in order, then `finish()`."""

    def __init__(self) -> None:
        self._head = bytearray()
        self._kind: str | None = None
        self._zip_tail: _Tail | None = None
        self._ole: _OleDirectoryScan | None = None
        self._text: _Utf8Text | None = None

    @property
    def provisional(self) -> str | None:
        """The type the head says (`ZIP`, `OLE2`, `TEXT` still to be refined), once it is seen."""
        return self._kind

    @property
    def candidates(self) -> frozenset[str] | None:
        """The types `finish()` can still answer, once the head is seen (else None)."""
        if self._kind is None:
            return None
        return _OUTCOMES.get(self._kind, frozenset({self._kind}))

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        if self._kind is None:
            self._head += chunk
            if len(self._head) >= HEAD_BYTES:
                self._decide()
        else:
            self._follow(chunk)

    def finish(self) -> str:
        if self._kind is None:
            self._decide()
        assert self._kind is not None
        if self._zip_tail is not None:
            return _classify_zip(self._zip_tail.bytes())
        if self._ole is not None:
            return self._ole.result()
        if self._text is not None:
            return TEXT if self._text.finish() else OCTET_STREAM
        return self._kind

    def _decide(self) -> None:
        head = bytes(self._head)
        self._kind = sniff_head(head)
        if self._kind == ZIP:
            self._zip_tail = _Tail(ZIP_TAIL_BYTES)
        elif self._kind == OLE2:
            self._ole = _OleDirectoryScan()
        elif self._kind == TEXT:
            self._text = _Utf8Text()
        self._follow(head)  # the whole-file checks start at byte 0
        self._head = bytearray()

    def _follow(self, chunk: bytes) -> None:
        if self._zip_tail is not None:
            self._zip_tail.feed(chunk)
        elif self._ole is not None:
            self._ole.feed(chunk)
        elif self._text is not None:
            self._text.feed(chunk)


# Types only this module's own checks may answer: `filetype` matches them more loosely (e.g.
# any `FF FB` as MP3, any `ftyp` box with an `isom` brand as video/mp4).
_DECIDED_HERE = frozenset(
    {"audio/mpeg", "audio/aac", "audio/ogg", "audio/amr", "audio/mp4", "video/mp4", "video/3gpp", "video/x-m4v",
     DOC, DOCX, XLS, XLSX, PPT, PPTX}
)


def sniff_head(head: bytes) -> str:
    """A provisional type from the first bytes (`ZIP`, `OLE2` and `TEXT` need the rest too)."""
    if not head:
        return OCTET_STREAM
    for check in (_isobmff, _ogg, _amr, _containers, _audio_frames):
        found = check(head)
        if found:
            return found
    guessed = filetype.guess_mime(head)
    if guessed and guessed not in _DECIDED_HERE:
        # Every APNG is a valid PNG by design (decoders that ignore its animation chunks show
        # the first frame); `filetype` only names it separately.
        return "image/png" if guessed == "image/apng" else guessed
    markup = _markup(head)
    if markup:
        return markup
    if _Utf8Text().feed(head):
        return TEXT
    return OCTET_STREAM


# --- ISO base media file format (mp4, 3gp, m4a, mov, heic, avif) -------------------------

_MP4_BRANDS = frozenset(
    {"isom", "iso2", "iso3", "iso4", "iso5", "iso6", "iso7", "iso8", "iso9", "mp41", "mp42", "mp71",
     "avc1", "dash", "mmp4", "MSNV", "M4V ", "M4VH", "M4VP", "NDAS", "NDSC", "NDSH", "NDSM", "NDSP",
     "NDSS", "NDXC", "NDXH", "NDXM", "NDXP", "NDXS", "f4v ", "F4V "}
)
_BRAND_TYPES = {
    "M4A ": "audio/mp4", "M4B ": "audio/mp4", "qt  ": "video/quicktime",
    "heic": "image/heic", "heix": "image/heic", "heim": "image/heic", "heis": "image/heic",
    "hevc": "image/heic-sequence", "hevx": "image/heic-sequence", "mif1": "image/heif",
    "msf1": "image/heif-sequence", "avif": "image/avif", "avis": "image/avif", "crx ": "image/x-canon-cr3",
    "jp2 ": "image/jp2",
}


def _brand_type(brand: str) -> str | None:
    if brand.startswith("3g2"):
        return "video/3gpp2"
    if brand.startswith("3g"):
        return "video/3gpp"
    if brand in _MP4_BRANDS:
        return "video/mp4"
    return _BRAND_TYPES.get(brand)


def _isobmff(head: bytes) -> str | None:
    if len(head) < 16 or head[4:8] != b"ftyp":
        return None
    box_size = int.from_bytes(head[0:4], "big")
    major = head[8:12].decode("latin-1")
    found = _brand_type(major)
    if found:
        return found
    # An unknown major brand: the compatible brands say what players may treat it as.
    compatible = [head[i : i + 4].decode("latin-1") for i in range(16, min(box_size, len(head)) - 3, 4)]
    types = {_brand_type(b) for b in compatible} - {None}
    for preferred in ("video/mp4", "video/3gpp"):
        if preferred in types:
            return preferred
    return "application/mp4"


# --- Ogg, AMR, ADTS AAC, MPEG audio ------------------------------------------------------


def _ogg(head: bytes) -> str | None:
    if not head.startswith(b"OggS") or len(head) < 27:
        return None
    packet = 27 + head[26]  # after the page header and its segment table
    return "audio/ogg" if head[packet : packet + 8] == b"OpusHead" else "application/ogg"


def _amr(head: bytes) -> str | None:
    if head.startswith(b"#!AMR\n"):
        return "audio/amr"
    if head.startswith(b"#!AMR-WB\n"):
        return "audio/amr-wb"  # wide band: not a type WhatsApp lists
    return None


def _frame(head: bytes, pos: int) -> str | None:
    """`audio/aac` for an ADTS frame header at `pos`, `audio/mpeg` for an MPEG audio one."""
    if len(head) < pos + 4 or head[pos] != 0xFF:
        return None
    b1, b2 = head[pos + 1], head[pos + 2]
    if b1 & 0xF6 == 0xF0:  # 12-bit sync, layer 00: ADTS
        return "audio/aac" if (b2 >> 2) & 0x0F < 13 else None  # a valid sampling-rate index
    if b1 & 0xE0 != 0xE0:
        return None
    version, layer = (b1 >> 3) & 3, (b1 >> 1) & 3
    bitrate, rate = b2 >> 4, (b2 >> 2) & 3
    if version == 1 or layer == 0 or bitrate == 15 or rate == 3:  # reserved values
        return None
    return "audio/mpeg"


def _audio_frames(head: bytes) -> str | None:
    if head.startswith(b"ID3") and len(head) >= 10:
        size_bytes = head[6:10]
        if any(b & 0x80 for b in size_bytes):
            return None  # not a real ID3v2 tag (its size is "syncsafe": 7 bits a byte)
        size = (size_bytes[0] << 21) | (size_bytes[1] << 14) | (size_bytes[2] << 7) | size_bytes[3]
        end = 10 + size + (10 if head[5] & 0x10 else 0)
        if end + 4 > len(head):
            return "audio/mpeg"  # a long tag (cover art): ID3v2 is an MP3 convention
        return _frame(head, end)
    return _frame(head, 0)


# --- Containers: ZIP (OOXML) and OLE2 (legacy Office) ------------------------------------


def _containers(head: bytes) -> str | None:
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return ZIP
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return OLE2
    return None


# The central directory of an Office file is a few KB; 1 MiB holds ~10,000 entries. A ZIP
# whose directory does not fit is not read as OOXML (and is refused as a document).
ZIP_TAIL_BYTES = 1024 * 1024


class _Tail:
    def __init__(self, size: int) -> None:
        self.size = size
        self._buf = bytearray()

    def feed(self, chunk: bytes) -> None:
        self._buf += chunk
        if len(self._buf) > 2 * self.size:  # trim in batches, not on every chunk
            del self._buf[: -self.size]

    def bytes(self) -> bytes:
        return bytes(self._buf[-self.size :])


_OOXML = (("word/", DOCX, DOCM), ("xl/", XLSX, XLSM), ("ppt/", PPTX, PPTM))


def _classify_zip(tail: bytes) -> str:
    # `zipfile` finds the central directory from the end and accepts data before the archive
    # (self-extractors), so the file's tail reads the same as the whole file.
    try:
        names = zipfile.ZipFile(io.BytesIO(tail)).namelist()
    except Exception:  # untrusted bytes: any parse failure means "not a readable package"
        return ZIP
    if "[Content_Types].xml" not in names:
        return ZIP
    macros = any(name.endswith("vbaProject.bin") for name in names)
    for prefix, plain, macro_enabled in _OOXML:
        if any(name.startswith(prefix) for name in names):
            return macro_enabled if macros else plain
    return ZIP


def _ole_entry(name: str) -> bytes:
    return (name + "\0").encode("utf-16-le")


# Main stream of each legacy Office format, in order of precedence (a Word file with an
# embedded spreadsheet also holds a `Workbook` entry).
_OLE_STREAMS = (
    (_ole_entry("WordDocument"), DOC),
    (_ole_entry("PowerPoint Document"), PPT),
    (_ole_entry("Workbook"), XLS),
    (_ole_entry("Book"), XLS),  # Excel 5/95
)
_OLE_HEADER = 512
_OLE_ENTRY = 128  # directory entries are 128 bytes, and sectors start at multiples of 512
_OLE_STREAM_OBJECT = 2


class _OleDirectoryScan:
    """Finds directory entries naming the Office main streams. An entry is recognised only at
    a 128-byte boundary, with a matching name length and the stream object type, so the same
    UTF-16 text inside a document's content does not count."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._offset = 0  # file offset of _buf[0], always a multiple of _OLE_ENTRY
        self._found: set[str] = set()

    def feed(self, chunk: bytes) -> None:
        self._buf += chunk
        usable = len(self._buf) - len(self._buf) % _OLE_ENTRY
        if usable:
            self._scan(bytes(self._buf[:usable]))
            self._offset += usable
            del self._buf[:usable]

    def _scan(self, block: bytes) -> None:
        for marker, content_type in _OLE_STREAMS:
            if content_type in self._found:
                continue
            at = block.find(marker)
            while at != -1:
                if (
                    at % _OLE_ENTRY == 0
                    and self._offset + at >= _OLE_HEADER
                    and int.from_bytes(block[at + 64 : at + 66], "little") == len(marker)
                    and block[at + 66] == _OLE_STREAM_OBJECT
                ):
                    self._found.add(content_type)
                    break
                at = block.find(marker, at + 1)

    def result(self) -> str:
        return next((t for _, t in _OLE_STREAMS if t in self._found), OLE2)


# --- Markup and text ---------------------------------------------------------------------

# WHATWG MIME Sniffing §7.1 "identify an unknown MIME type": tags that make a browser render a
# resource as HTML, when they open it (after whitespace), followed by a space or `>`.
_HTML_OPENERS = re.compile(
    rb"<(?:!doctype\s+html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p|!--)[\s>]"
)
# Tags that mean a web page wherever they appear in the head, not only at its start.
_HTML_ANYWHERE = re.compile(rb"<(?:!doctype\s+html|html|head|body|script|iframe|frameset|object|embed)[\s>/]")
_SVG = re.compile(rb"<svg[\s>]")
# WHATWG's "binary data bytes": C0 controls other than TAB, LF, FF, CR and ESC.
_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")


def _markup(head: bytes) -> str | None:
    lowered = head.lower()
    start = lowered.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\n\r\x0c")
    if _HTML_OPENERS.match(start) or _HTML_ANYWHERE.search(lowered):
        return HTML
    if _SVG.search(lowered):
        return SVG
    if start.startswith(b"<?xml"):
        return XML
    return None


class _Utf8Text:
    """UTF-8 without binary control bytes, checked incrementally over the whole stream."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.ok = True

    def feed(self, chunk: bytes) -> bool:
        if self.ok:
            try:
                self._decoder.decode(chunk)
            except UnicodeDecodeError:
                self.ok = False
            else:
                self.ok = _BINARY_BYTES.search(chunk) is None
        return self.ok

    def finish(self) -> bool:
        if self.ok:
            try:
                self._decoder.decode(b"", final=True)  # a file must not end mid-character
            except UnicodeDecodeError:
                self.ok = False
        return self.ok
