"""The peer for inbound webhooks: pywa's own webhook server (a FastAPI app with pywa's routes:
signature check, update parsing, dispatch to handlers) on the same server stack as inboxd.
Handlers count what they are given; `GET /count` reports the counts.

    python -m bench.baselines.pywa_server --port 8182 --app-secret S
"""

from __future__ import annotations

import argparse
import threading

import uvicorn
from fastapi import FastAPI
from pywa import WhatsApp, types

counts = {"messages": 0, "statuses": 0, "raw": 0}
lock = threading.Lock()


def build(app_secret: str) -> FastAPI:
    app = FastAPI()
    wa = WhatsApp(
        server=app,
        verify_token="bench",
        app_secret=app_secret,
        validate_updates=True,
        webhook_endpoint="/webhooks/whatsapp",
        filter_updates=False,
        skip_duplicate_updates=True,
    )

    @wa.on_message()
    def on_message(_: WhatsApp, msg: types.Message) -> None:
        with lock:
            counts["messages"] += 1

    @wa.on_message_status()
    def on_status(_: WhatsApp, status: types.MessageStatus) -> None:
        with lock:
            counts["statuses"] += 1

    @wa.on_raw_update()
    def on_raw(_: WhatsApp, update: types.RawUpdate) -> None:
        with lock:
            counts["raw"] += 1

    @app.get("/count")
    async def count() -> dict:
        return dict(counts)

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"ok": True}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--app-secret", required=True)
    args = parser.parse_args()
    uvicorn.run(build(args.app_secret), host="127.0.0.1", port=args.port, loop="uvloop", http="httptools",
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
