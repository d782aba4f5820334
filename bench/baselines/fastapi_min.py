"""The framework's ceiling on this machine: a minimal FastAPI app on the same server stack as
`inboxd serve` (uvicorn, uvloop, httptools) that validates the same Send a Message body (a text
message) and the Bearer header, and answers a constant. No database, no work.

    python -m bench.baselines.fastapi_min --port 8181
"""

from __future__ import annotations

import argparse
from typing import Annotated, Literal

import uvicorn
from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel, Field

app = FastAPI()


class TextSend(BaseModel):
    type: Literal["text"]
    text: str = Field(min_length=1, max_length=4096)
    tmpSendId: str | None = None  # noqa: N815


ANSWER = {"success": True, "messages": [{"_id": "000000000000000000000000", "status": 0}]}


@app.post("/server/api/v2/messages/send/{chat_id}", status_code=202)
async def send(chat_id: str, body: TextSend, authorization: Annotated[str | None, Header()] = None) -> dict:
    if not authorization or not authorization.startswith("Bearer "):
        raise HTTPException(401)
    return ANSWER


@app.get("/healthz")
async def healthz() -> dict:
    return {"ok": True}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, loop="uvloop", http="httptools", log_level="warning",
                access_log=False)


if __name__ == "__main__":
    main()
