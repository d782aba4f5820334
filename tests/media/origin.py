"""A test origin server for media URLs: real files, lying headers, big and slow bodies,
redirects (also to forbidden addresses), error statuses. Every request is recorded with its
Host header, so a test can prove what reached the server (or that nothing did)."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.media import samples


@dataclass
class Served:
    body: bytes
    content_type: str = "application/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Origin:
    url: str = ""
    hits: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)
    streamed: dict[str, int] = field(default_factory=dict)  # bytes a streaming route produced
    files: dict[str, Served] = field(
        default_factory=lambda: {
            # Names and Content-Types that lie: the bytes decide.
            "photo.png": Served(samples.PNG, "image/png"),
            "page.html": Served(samples.PNG, "text/html"),
            "fake.png": Served(samples.HTML, "image/png"),
            "fake.pdf": Served(samples.HTML, "application/pdf"),
            "clip.mp4": Served(samples.MP4, "video/mp4"),
            "voice.ogg": Served(samples.OGG_OPUS, "audio/ogg"),
            "report.docx": Served(samples.DOCX, "application/octet-stream"),
            "notes.txt": Served(samples.TEXT, "text/plain"),
            "empty.png": Served(b"", "image/png"),
            "download": Served(samples.PDF, "application/pdf", {"content-disposition": 'attachment; filename="Q3 report.pdf"'}),
        }
    )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/files/{name}", self.serve_file),
                Route("/big/{size:int}", self.big),
                Route("/declared-big", self.declared_big),
                Route("/redirect", self.redirect),
                Route("/hops/{n:int}", self.hops),
                Route("/status/{code:int}", self.status),
                Route("/slow", self.slow),
                Route("/drip", self.drip),
                Route("/gzip", self.gzipped),
                Route("/cut", self.cut),
            ]
        )

    def _hit(self, request: Request) -> None:
        self.hits.append((request.url.path, request.headers.get("host", "")))

    async def serve_file(self, request: Request) -> Response:
        self._hit(request)
        served = self.files.get(request.path_params["name"])
        if served is None:
            return Response(status_code=404)
        return Response(served.body, media_type=served.content_type, headers=served.headers)

    async def big(self, request: Request) -> Response:
        """A PNG padded to `size` bytes, streamed without Content-Length."""
        self._hit(request)
        size = request.path_params["size"]
        return StreamingResponse(self._padded_png(request.url.path, size), media_type="image/png")

    async def _padded_png(self, key: str, size: int) -> AsyncIterator[bytes]:
        self.streamed[key] = 0
        first = samples.PNG
        yield first
        self.streamed[key] += len(first)
        block = b"\x00" * 65536
        while self.streamed[key] < size:
            piece = block[: size - self.streamed[key]]
            yield piece
            self.streamed[key] += len(piece)

    async def declared_big(self, request: Request) -> Response:
        """Declares 6 MB; a client that reads it all would see the whole 6 MB."""
        self._hit(request)
        return StreamingResponse(
            self._padded_png(request.url.path, 6_000_000), media_type="image/png", headers={"content-length": "6000000"}
        )

    async def redirect(self, request: Request) -> Response:
        self._hit(request)
        return RedirectResponse(request.query_params["to"], status_code=int(request.query_params.get("code", 302)))

    async def hops(self, request: Request) -> Response:
        self._hit(request)
        n = request.path_params["n"]
        return RedirectResponse(f"/hops/{n - 1}" if n > 0 else "/files/photo.png", status_code=307)

    async def status(self, request: Request) -> Response:
        self._hit(request)
        return Response(b"nope", status_code=request.path_params["code"])

    async def slow(self, request: Request) -> Response:
        self._hit(request)

        async def body() -> AsyncIterator[bytes]:
            yield samples.PNG[:10]
            await asyncio.sleep(5)
            yield samples.PNG[10:]

        return StreamingResponse(body(), media_type="image/png")

    async def drip(self, request: Request) -> Response:
        """A byte every 50 ms: never trips a read timeout, only the total one."""
        self._hit(request)

        async def body() -> AsyncIterator[bytes]:
            yield samples.PNG
            for _ in range(200):
                await asyncio.sleep(0.05)
                yield b"\x00"

        return StreamingResponse(body(), media_type="image/png")

    async def gzipped(self, request: Request) -> Response:
        self._hit(request)
        return Response(gzip.compress(samples.PNG), media_type="image/png", headers={"content-encoding": "gzip"})

    async def cut(self, request: Request) -> Response:
        """Promises more than it sends, then drops the connection."""
        self._hit(request)

        async def body() -> AsyncIterator[bytes]:
            yield samples.PNG
            raise RuntimeError("connection dropped on purpose")

        return StreamingResponse(body(), media_type="image/png", headers={"content-length": "100000"})
