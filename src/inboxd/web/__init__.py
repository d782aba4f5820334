"""The web inbox (DESIGN.md `web`): plain HTML, CSS and ES modules shipped inside the package and
served by inboxd itself — `/` is the page, `/web/…` its assets. No build step and no Node: the
browser runs the files as they are here. The page uses only the public REST API under
/server/api/v2 (with the sign-in session's cookie) and the live stream; nothing here reads the
database."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
ASSETS_PREFIX = "/web"

# The page may load only itself: its scripts, styles and images from this origin (customer media
# comes through /server/files/…, same origin), no inline script — a customer's text that somehow
# reached the DOM as markup still could not run.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}

page_router = APIRouter()


@page_router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
async def inbox_page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=PAGE_HEADERS)


def mount(app: FastAPI) -> None:
    """The page at `/`, its assets under /web (kept out of the API's OpenAPI document)."""
    app.include_router(page_router)
    app.mount(ASSETS_PREFIX, StaticFiles(directory=STATIC), name="web")
