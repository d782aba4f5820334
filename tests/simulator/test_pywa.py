"""A real public client of the Cloud API against the simulator: pywa (from PyPI) sends a text, an
image by upload, reply buttons and a list, and each shows up in the control API exactly as
pywa sent it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import orjson
from pywa import WhatsApp, types

from tests.simulator.support import PNG, RunningSimulator
from tests.simulator.test_graph_routes import DANA


def pywa_client(simulator: RunningSimulator, captured: list[dict[str, Any]]) -> WhatsApp:
    """pywa pointed at the simulator. pywa 4 has no base-URL parameter: it sets the Graph URL on
    the `httpx.Client` it is given, so the test gives it one and moves that client's base URL
    (public httpx API) to the simulator. An event hook keeps the JSON bodies pywa sends."""

    def keep(request: httpx.Request) -> None:
        if request.url.path.endswith("/messages"):
            captured.append(orjson.loads(request.content))

    session = httpx.Client(event_hooks={"request": [keep]}, timeout=30)
    wa = WhatsApp(phone_id=simulator.config.phone_number_id, token=simulator.config.access_token, session=session)
    session.base_url = httpx.URL(f"{simulator.url}/v23.0")
    return wa


async def test_pywa_sends_text_image_buttons_and_a_list(simulator: RunningSimulator, tmp_path: Path) -> None:
    await simulator.user_writes(DANA)
    captured: list[dict[str, Any]] = []
    wa = pywa_client(simulator, captured)
    image = tmp_path / "dot.png"
    image.write_bytes(PNG)

    def send_all() -> list[str]:
        return [
            wa.send_message(to=DANA, text="Hello from pywa").id,
            wa.send_image(to=DANA, image=image, caption="A dot").id,
            wa.send_message(
                to=DANA,
                text="Reschedule?",
                header="Workshop",
                footer="Lucky Shrub",
                buttons=[types.Button(title="Change", callback_data="change"),
                         types.Button(title="Cancel", callback_data="cancel")],
            ).id,
            wa.send_message(
                to=DANA,
                text="Which shipping option?",
                buttons=types.SectionList(
                    button_title="Options",
                    sections=[
                        types.Section(title="Fast", rows=[
                            types.SectionRow(title="Express", callback_data="express", description="Next day"),
                        ]),
                        types.Section(title="Cheap", rows=[types.SectionRow(title="Mail", callback_data="mail")]),
                    ],
                ),
            ).id,
        ]

    ids = await asyncio.to_thread(send_all)
    sent = await simulator.sent_to(DANA)
    assert [m["id"] for m in sent] == ids
    assert [m["payload"] for m in sent] == captured  # exactly as sent
    assert [m["payload"]["type"] for m in sent] == ["text", "image", "interactive", "interactive"]
    assert sent[0]["payload"]["text"]["body"] == "Hello from pywa"
    assert [m["payload"]["interactive"]["type"] for m in sent[2:]] == ["button", "list"]
    # the image went up through POST /media and is referenced by its id: the same bytes
    media = simulator.sim.media.get(sent[1]["payload"]["image"]["id"])
    assert media is not None and media.path.read_bytes() == PNG and media.mime_type == "image/png"


async def test_pywa_sees_graph_errors_as_graph_errors(simulator: RunningSimulator) -> None:
    from pywa import errors

    wa = pywa_client(simulator, [])

    def send_outside_window() -> Exception:
        try:
            wa.send_message(to="972500000009", text="nobody wrote")
        except errors.WhatsAppError as exc:
            return exc
        raise AssertionError("expected an error")

    error = await asyncio.to_thread(send_outside_window)
    assert isinstance(error, errors.ReEngagementMessage)  # pywa's class for code 131047
