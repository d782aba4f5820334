"""The limits of Send a Message to Chat, in one table.

Every bound the request validator (`inboxd.domain.content`) enforces is defined here and nowhere
else. Where Meta's OpenAPI description of the Cloud API states a bound, `tests/domain/
test_limits_vs_meta.py` checks that ours is the same number, so a change on Meta's side shows up
as a failing test rather than as messages refused by the channel after we accepted them.

`source` says where each number comes from:
- "meta": stated in Meta's OpenAPI file (checked by the test above);
- "meta-docs": in Meta's documentation pages but not in its OpenAPI schemas;
- "texter": the Texter API v2 reference;
- "inboxd": our own decision where both are silent (documented in docs/send-message.md).

String lengths count Unicode code points (Python's `len`). Meta says "characters" and does not
say how it counts; code points are what a JSON client sees as characters.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bounds:
    """An inclusive range: a length for strings, a count for arrays, a value for numbers."""

    min: float | None
    max: float | None
    source: str

    def __contains__(self, value: float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


# type "text"
TEXT = Bounds(1, 4096, "meta")  # TextMessage text.body (Meta states the 4096 on its text object)

# type "media": each item becomes its own WhatsApp message
MEDIA_ITEMS = Bounds(1, 10, "texter")
CAPTION = Bounds(None, 1024, "meta")  # image, video and document captions
FILENAME = Bounds(None, 255, "inboxd")  # the longest file name common file systems store
MEDIA_URL = Bounds(None, 2048, "inboxd")  # the de-facto URL length limit of browsers and CDNs

# type "buttons" (interactive reply buttons)
INTERACTIVE_BODY = Bounds(1, 1024, "meta")  # BodyObject.text, for buttons and list alike
BUTTONS = Bounds(1, 3, "meta")
BUTTON_TITLE = Bounds(1, 20, "meta")  # reply.title; unique in the message
BUTTON_PAYLOAD = Bounds(1, 256, "meta")  # reply.id; unique in the message

# type "list" (interactive list)
LIST_BUTTON = Bounds(1, 20, "meta")  # action.button
SECTIONS = Bounds(1, 10, "meta")
# Meta caps rows per section at 10 and, in its docs, rows across all sections at 10 too, so the
# total is the binding limit; each section needs at least one row to be shown at all.
ROWS_TOTAL = Bounds(1, 10, "meta")
ROWS_PER_SECTION = Bounds(1, None, "meta-docs")
SECTION_TITLE = Bounds(1, 24, "meta")  # required when there is more than one section
ROW_TITLE = Bounds(1, 24, "meta")
ROW_PAYLOAD = Bounds(1, 200, "meta")  # row id; unique across the whole list
ROW_DESCRIPTION = Bounds(None, 72, "meta")

# type "contacts"
CONTACTS = Bounds(1, 5, "meta")  # ContactsMessage.contacts minItems/maxItems

# type "location"
LATITUDE = Bounds(-90, 90, "inboxd")  # degrees; Meta types them as strings and states no range
LONGITUDE = Bounds(-180, 180, "inboxd")
LOCATION_NAME = Bounds(None, 1024, "inboxd")
LOCATION_ADDRESS = Bounds(None, 1024, "inboxd")

# every type
# A wamid is about 60 characters; 256 leaves room for longer provider ids without letting a
# client store arbitrary blobs.
CONTEXT = Bounds(1, 256, "inboxd")
# The idempotency key: long enough for a UUID, a hash or a composite key of the caller's.
TMP_SEND_ID = Bounds(1, 256, "inboxd")
