"""The Graph API routes the simulator answers, under any version segment (`/v23.0/…`), mounted
at the root (standalone) or under a prefix (`/simulator/graph` inside `inboxd serve`).

Every answer has Graph's shapes: errors are `{"error": {message, type, code, …, fbtrace_id}}`
whatever goes wrong (the routes catch everything themselves, so the app they are mounted in
cannot turn an error into another shape), and a Bearer access token is required everywhere.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from fastapi.routing import APIRoute
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from inboxd.api.responses import JSON
from inboxd.simulator.core import ATTACHMENTS_PATH, Simulator
from inboxd.simulator.errors import GraphFault, invalid_parameter, unknown_object
from inboxd.simulator.faults import apply_request_fault
from inboxd.simulator.media import upload_problem
from inboxd.simulator.messages import handle_send, parse_body

log = logging.getLogger(__name__)

TAG = "simulator: Graph API"


class GraphRoute(APIRoute):
    """Turns every failure of a Graph route into Graph's error JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def graph_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except GraphFault as fault:
                return fault.response()
            except ClientDisconnect:  # the client gave up (e.g. its timeout): nobody to answer
                return Response(status_code=499)
            except StarletteHTTPException as exc:  # e.g. a body over the size limit
                return GraphFault(100, http_status=exc.status_code, details=str(exc.detail)).response()
            except Exception:
                log.exception("simulator Graph route %s failed", request.url.path)
                return GraphFault(1, http_status=500, details="Unexpected simulator error (see its log)").response()

        return graph_handler


def _authorize(sim: Simulator, request: Request) -> None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), sim.config.access_token.encode()):
        raise GraphFault(190, message="Invalid OAuth access token - Cannot parse access token")


async def _fault(sim: Simulator, endpoint: str) -> None:
    fault = sim.faults.take(endpoint, None, on_accept=False)
    if fault is not None:
        await apply_request_fault(fault)


def graph_router(sim: Simulator, prefix: str = "") -> APIRouter:
    """The Graph routes; `prefix` is where the router will be included (for absolute URLs)."""
    router = APIRouter(route_class=GraphRoute, tags=[TAG])

    def graph_base(request: Request) -> str:
        return str(request.base_url).rstrip("/") + prefix

    def check_phone_number(phone_number_id: str) -> None:
        if phone_number_id != sim.config.phone_number_id:
            raise unknown_object(phone_number_id)

    @router.get(ATTACHMENTS_PATH, summary="Download a media file (the URL from GET /{media-id})")
    async def download(request: Request) -> Response:
        _authorize(sim, request)
        await _fault(sim, "download")
        q = request.query_params
        media = sim.media.resolve_url(q.get("mid", ""), q.get("ext", ""), q.get("hash", ""))
        if media is None:  # expired, forged or deleted: Meta answers a bare 404 (re-resolve the id)
            return Response("Not Found", status_code=404, media_type="text/plain")
        return FileResponse(media.path, media_type=media.mime_type)

    @router.post("/{version}/{phone_number_id}/messages", summary="Send a message, or mark one as read")
    async def send(version: str, phone_number_id: str, request: Request) -> Response:
        _authorize(sim, request)
        check_phone_number(phone_number_id)
        return JSON(await handle_send(sim, await request.body()))

    @router.post("/{version}/{phone_number_id}/media", summary="Upload a media file (multipart)")
    async def upload(version: str, phone_number_id: str, request: Request) -> Response:
        _authorize(sim, request)
        check_phone_number(phone_number_id)
        await _fault(sim, "media")
        try:
            form = await request.form(max_part_size=1024 * 1024)
        except (StarletteHTTPException, ValueError) as exc:
            raise invalid_parameter("file", f"could not be read from the multipart body ({exc})") from None
        try:
            if form.get("messaging_product") != "whatsapp":
                raise invalid_parameter("messaging_product", 'is required and must be "whatsapp"')
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise invalid_parameter("file", "is required (a multipart file part)")
            declared = form.get("type")
            mime = declared if isinstance(declared, str) and declared else (upload.content_type or "")
            data = await upload.read()
            problem = upload_problem(mime, len(data))
            if problem:
                raise GraphFault(131053, details=f"Param file: {problem}")
            media = sim.media.add(data, mime, filename=upload.filename, origin="upload")
        finally:
            await form.close()
        return JSON({"id": media.id})

    @router.get("/{version}/{waba_id}/message_templates", summary="List the WABA's message templates")
    async def list_templates(version: str, waba_id: str, request: Request) -> Response:
        _authorize(sim, request)
        check_waba(waba_id)
        await _fault(sim, "templates")
        q = request.query_params
        found = sim.templates.listing(name=q.get("name"), status=q.get("status"), language=q.get("language"))
        try:
            limit = max(1, min(int(q.get("limit", "25")), 1000))
            start = int(q.get("after", "0") or 0)
        except ValueError:
            raise invalid_parameter("limit", "must be a number") from None
        page = found[start : start + limit]
        paging: dict[str, Any] = {"cursors": {"before": str(start), "after": str(start + len(page))}}
        if start + limit < len(found):
            paging["next"] = f"{graph_base(request)}/{version}/{waba_id}/message_templates?limit={limit}&after={start + limit}"
        return JSON({"data": [t.view() for t in page], "paging": paging})

    @router.post("/{version}/{waba_id}/message_templates", summary="Create a message template")
    async def create_template(version: str, waba_id: str, request: Request) -> Response:
        _authorize(sim, request)
        check_waba(waba_id)
        await _fault(sim, "templates")
        template = sim.create_template(parse_body(await request.body()))
        return JSON({"id": template.id, "status": template.status, "category": template.category})

    @router.delete("/{version}/{waba_id}/message_templates", summary="Delete a message template")
    async def delete_template(version: str, waba_id: str, request: Request) -> Response:
        _authorize(sim, request)
        check_waba(waba_id)
        await _fault(sim, "templates")
        name, hsm_id = request.query_params.get("name"), request.query_params.get("hsm_id")
        if not name:
            raise invalid_parameter("name", "is required")
        if not sim.templates.delete(name=name, template_id=hsm_id):
            raise GraphFault(100, details=f"Template {name!r} does not exist", subcode=2593002)
        return JSON({"success": True})

    def check_waba(waba_id: str) -> None:
        if waba_id != sim.config.waba_id:
            raise unknown_object(waba_id, "get")

    @router.get("/{version}/{object_id}", summary="Get a media object's URL (or a template, the number, the WABA)")
    async def get_object(version: str, object_id: str, request: Request) -> Response:
        _authorize(sim, request)
        media = sim.media.get(object_id)
        if media is not None:
            await _fault(sim, "media")
            owner = request.query_params.get("phone_number_id")
            if owner is not None and owner != sim.config.phone_number_id:
                raise invalid_parameter("phone_number_id", "does not own this media")
            return JSON(
                {
                    "messaging_product": "whatsapp",
                    "url": f"{graph_base(request)}{ATTACHMENTS_PATH}?{sim.media.url_query(media)}",
                    "mime_type": media.mime_type,
                    "sha256": media.sha256_hex,
                    "file_size": media.size,
                    "id": media.id,
                }
            )
        template = sim.templates.by_id.get(object_id)
        if template is not None:
            return JSON(template.view())
        config = sim.config
        if object_id == config.phone_number_id:
            return JSON(
                {
                    "verified_name": "inboxd simulator",
                    "code_verification_status": "VERIFIED",
                    "display_phone_number": config.display_phone_number,
                    "quality_rating": sim.quality_rating,
                    "platform_type": "CLOUD_API",
                    "throughput": {"level": "HIGH" if config.mps >= 1000 else "STANDARD"},
                    "id": config.phone_number_id,
                }
            )
        if object_id == config.waba_id:
            return JSON({"id": config.waba_id, "name": "inboxd simulator", "currency": "USD", "timezone_id": "1"})
        raise unknown_object(object_id, "get")

    @router.delete("/{version}/{object_id}", summary="Delete a media object")
    async def delete_object(version: str, object_id: str, request: Request) -> Response:
        _authorize(sim, request)
        owner = request.query_params.get("phone_number_id")
        if owner is not None and owner != sim.config.phone_number_id:
            raise invalid_parameter("phone_number_id", "does not own this media")
        await _fault(sim, "media")
        if not sim.media.delete(object_id):
            raise unknown_object(object_id, "delete")
        return JSON({"success": True})

    return router
