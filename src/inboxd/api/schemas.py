"""The answer shapes of the API as JSON Schema, each defined once and referenced from every
operation that answers it (`components/schemas` of the OpenAPI document; `api.contract`).

Written by hand rather than as Pydantic models: they describe what `domain.texter`,
`templates.shapes`, `events.manage` and the routes already encode by hand on hot paths, and a
test (`tests/contract/test_document.py`) validates each one's example, and every answer the
fuzzer sees (`tests/contract/test_fuzz.py`), against them. Field names and time units as in the
Texter reference; our additions are additive, so objects admit properties not listed here.
A component with an `example` is a whole answer; its example is the operation's example.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict[str, Schema], required: list[str] | None = None, **more: Any) -> Schema:
    out: Schema = {"type": "object", "properties": properties, **more}
    if required is None:
        required = list(properties)
    if required:
        out["required"] = required
    return out


def array(items: Schema, **more: Any) -> Schema:
    return {"type": "array", "items": items, **more}


STRING, INTEGER, NUMBER, BOOLEAN, OBJECT = (
    {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}, {"type": "object"},
)
EPOCH_MS = {"type": "integer", "minimum": 0, "description": "Epoch milliseconds."}
ISO_TIME = {"type": "string", "description": "ISO 8601 date-time (UTC)."}
ID = {"type": "string", "pattern": "^[0-9a-f]{24}$", "description": "24-hex, time-ordered."}
TRUE = {"type": "boolean", "enum": [True]}

CHAT_ID, MESSAGE_ID, FILE_ID = "67bf11038b24880cc966f799", "69062b15962e17ab3033f886", "6908fc09962e17ab3033fa13"
SCENARIO_ID, TEMPLATE_ID = "6912a0c4d0c2473c648f3ca1", "6912a1f0d0c2473c648f3cb7"
WAMID = "wamid.HBgMOTcyNTIxMjM0NTY3FQIAERgSQjU5QkE0QTk3QzIwRkUxNzdBAA=="
CONTACT, ACCOUNT = "972521234567", "15550001234"
CHANNEL_INFO_EXAMPLE = {"name": "whatsapp", "id": CONTACT, "accountId": ACCOUNT}

_MESSAGE_EXAMPLE = {
    "_id": MESSAGE_ID,
    "chatChannelInfo": CHANNEL_INFO_EXAMPLE,
    "channelInfo": {"id": WAMID},
    "direction": "outgoing",
    "parent_chat": CHAT_ID,
    "status": 1,
    "statusHistory": [{"status": 0, "timestamp": 1761574714328}, {"status": 1, "timestamp": 1761574715000}],
    "timestamp": 1761574714328,
    "type": "text",
    "updatedAt": "2025-10-27T14:18:35.000Z",
    "text": "Hey there!",
    "tmpSendId": "crm-42",
}
_CHAT_FULL_EXAMPLE = {
    "_id": CHAT_ID,
    "title": "John Doe",
    "displayName": "John from the gym",
    "agent": {"uid": None, "displayName": ""},
    "channel": "whatsapp",
    "entityPhone": f"+{ACCOUNT}",
    "clientPhoneE164": f"+{CONTACT}",
    "clientPhone": f"+{CONTACT}",
    "created": "2025-02-26T13:02:58.353Z",
    "botState": {},
    "last_message_timestamp": 1762012091000,
    "lastIncomingMessageTimestamp": 1762012091000,
    "status": 1,
    "unreadCount": 1,
    "labels": ["VIP"],
    "channelInfo": CHANNEL_INFO_EXAMPLE,
    "departmentId": None,
    "crmData": {"leadId": 641225},
    "externalBot": False,
    "updatedAt": "2025-11-01T15:48:14.076Z",
}
_LOCALIZATION_EXAMPLE = {
    "language": "en",
    "status": "APPROVED",
    "components": [{"type": "BODY", "text": "Hi {{1}}, order {{2}} is ready", "example": {"body_text": [["Dana", "15033"]]}}],
    "rejectionReason": "NONE",
    "metadata": {"providerTemplateId": "1043789012345678"},
    "createdAt": 1762012091000,
    "lastUpdated": 1762012191000,
}
_TEMPLATE_EXAMPLE = {
    "_id": TEMPLATE_ID,
    "name": "order_ready",
    "title": "Order ready",
    "usage": "inbox",
    "chatStatus": 1,
    "created": 1762012091000,
    "updatedAt": "2025-11-01T15:49:51.000Z",
    "departments": [],
    "isDefault": False,
    "provider": "whatsapp",
    "channelInfo": {"name": "whatsapp", "accountId": ACCOUNT},
    "defaults": {"body": ["there", "—"]},
    "localizationDrafts": {},
    "provider_template": {"name": "order_ready", "category": "UTILITY", "localizations": [_LOCALIZATION_EXAMPLE],
                          "metadata": {}},
}
_REVISION_EXAMPLE = {
    "_id": "6912a0c4d0c2473c648f3ca2",
    "scenarioId": SCENARIO_ID,
    "name": "(SUB) New Incoming Messages",
    "description": "Sends a webhook for each new incoming message",
    "status": "active",
    "version": 1,
    "parentVersion": None,
    "revisionComment": None,
    "triggerEvents": ["domain.message.created"],
    "conditions": [],
    "loaders": {},
    "actions": [{"name": "request", "params": {"url": "https://example.com/inboxd-events", "method": "post"}}],
    "loops": [],
    "tags": [],
    "attachedData": {},
    "options": {"unorderedActions": False},
    "metadata": {"authorUid": None, "created": "2025-11-11T08:00:04.000Z", "modified": "2025-11-11T08:00:04.000Z",
                 "activated": "2025-11-11T08:00:04.000Z", "activations": [{"timestamp": 1762848004000, "userUid": None}]},
}
_SCENARIO_EXAMPLE = {"_id": SCENARIO_ID, "activeRevision": _REVISION_EXAMPLE, "inactiveRevisions": [], "drafts": [],
                     "system": False}
_RUN_EXAMPLE = {
    "_id": "6912a2aad0c2473c648f3cc0",
    "scenarioId": SCENARIO_ID,
    "revisionId": "6912a0c4d0c2473c648f3ca2",
    "triggerEvent": "domain.message.created",
    "eventName": "newIncomingMessage",
    "chatId": CHAT_ID,
    "status": "delivered",
    "request": {"method": "POST", "url": "https://example.com/inboxd-events"},
    "created": 1762848100000,
    "nextAttemptAt": None,
    "finishedAt": 1762848100420,
    "attemptCount": 1,
    "lastStatusCode": 200,
    "lastError": None,
    "attempts": [{"attempt": 1, "startedAt": 1762848100010, "latencyMs": 410, "statusCode": 200,
                  "outcome": "delivered", "error": None}],
}

# ----------------------------------------------------------------------------- the error body

ERROR: Schema = obj(
    {
        "success": {"type": "boolean", "enum": [False]},
        "error": {"type": "string", "description": "A sentence for people."},
        "code": {"type": "string", "pattern": "^[a-z0-9_]+$", "description": "Stable, for programs."},
        "details": array(OBJECT, description="One entry per problem: `path` (JSON path) and `reason`; "
                         "`scope` and `reason` for a 403."),
        "requestId": {"type": "string", "description": "This request's `X-Request-Id`: quote it to report a failure."},
        "messages": array(ref("Message"), description="A refused send: the stored, failed messages."),
        "channelError": {"type": "object", "description": "What the channel (WhatsApp) answered."},
        "lastIncomingMessageTimestamp": nullable(EPOCH_MS),
        "hint": STRING,
    },
    required=["success", "error", "code", "details", "requestId"],
    description="Every error: a sentence, a code, the problems, the request id; some errors add fields.",
)

# ----------------------------------------------------------------------------- messages

CHANNEL_INFO = obj({"name": STRING, "id": STRING, "accountId": STRING})
STATUS_ENTRY = obj({"status": {"type": "integer", "minimum": 0, "maximum": 6}, "timestamp": EPOCH_MS})
MEDIA_ITEM = obj(
    {
        "mediaType": {"type": "string", "enum": ["image", "video", "document", "audio", "sticker"]},
        "fileId": STRING, "contentType": STRING, "filename": STRING, "caption": STRING, "url": STRING,
        "metadata": OBJECT, "error": OBJECT,
    },
    required=["mediaType"],
)
MESSAGE: Schema = obj(
    {
        "_id": ID,
        "chatChannelInfo": ref("ChannelInfo"),
        "channelInfo": obj({"id": STRING}, required=[], description="`id`: WhatsApp's wamid, once it answered."),
        "direction": nullable({"type": "string", "enum": ["incoming", "outgoing"]}),
        "parent_chat": ID,
        "status": {"type": "integer", "minimum": 0, "maximum": 6},
        "statusHistory": array(ref("StatusEntry")),
        "timestamp": EPOCH_MS,
        "type": {"type": "string", "enum": ["text", "media", "contacts", "location", "buttons", "list", "postback",
                                            "special"]},
        "updatedAt": ISO_TIME,
        "text": STRING,
        "media": array(ref("MediaItem")),
        "buttons": array(obj({"title": STRING, "payload": STRING}, required=["title"])),
        "list": OBJECT,
        "contacts": array(OBJECT),
        "location": obj({"latitude": NUMBER, "longitude": NUMBER, "name": STRING, "address": STRING},
                        required=["latitude", "longitude"]),
        "postback": obj({"payload": STRING, "title": STRING, "description": STRING}, required=[]),
        "special": obj({"type": STRING, "payload": {}}, required=[]),
        "reactions": array(obj({"emoji": STRING, "from": STRING, "timestamp": EPOCH_MS}, required=["emoji"])),
        "agent": STRING,
        "metadata": OBJECT,
        "botSessionId": STRING,
        "tmpSendId": STRING,
        "context": {"type": "string", "description": "The wamid of the quoted message."},
        "error": obj({"code": {}, "title": STRING, "message": STRING, "details": {}}, required=[]),
    },
    required=["_id", "chatChannelInfo", "channelInfo", "direction", "parent_chat", "status", "statusHistory",
              "timestamp", "type", "updatedAt"],
    description="A message (Texter §3.3); the content fields present depend on `type`.",
    example=_MESSAGE_EXAMPLE,
)
MESSAGE_PAGE = obj(
    {"messages": array(ref("Message")), "minTime": nullable(EPOCH_MS), "maxTime": nullable(EPOCH_MS)},
    description="A page of a chat's messages, oldest first; the chat's first and last message times.",
    example={"messages": [_MESSAGE_EXAMPLE], "minTime": 1761574714328, "maxTime": 1761574714328},
)
SENT_MESSAGES = obj(
    {"success": TRUE, "messages": array(ref("Message"))},
    description="The messages the request made (one per content item), as stored.",
    example={"success": True, "messages": [_MESSAGE_EXAMPLE]},
)

# ----------------------------------------------------------------------------- chats

AGENT_REF = obj({"uid": nullable(STRING), "displayName": STRING})
_CHAT_COMMON: dict[str, Schema] = {
    "title": nullable(STRING),
    "channelInfo": ref("ChannelInfo"),
    "departmentId": nullable(STRING),
    "agent": ref("ChatAgent"),
    "status": {"type": "integer", "minimum": 0, "maximum": 4},
    "created": ISO_TIME,
    "updatedAt": ISO_TIME,
    "lastIncomingMessageTimestamp": nullable(EPOCH_MS),
    "unreadCount": {"type": "integer", "minimum": 0},
    "botState": OBJECT,
    "externalBot": BOOLEAN,
}
CHAT_FULL: Schema = obj(
    {
        "_id": ID,
        **_CHAT_COMMON,
        "channel": STRING,
        "entityPhone": STRING,
        "clientPhoneE164": STRING,
        "clientPhone": STRING,
        "last_message_timestamp": nullable(EPOCH_MS),
        "labels": array(STRING),
        "crmData": OBJECT,
        "displayName": STRING,
        "personId": STRING,
        "image": STRING,
        "pendingUpdateTime": INTEGER,
        "resolvedUpdateTime": INTEGER,
        "previousBotSession": OBJECT,
        "replyAction": OBJECT,
        "crmDeepLink": STRING,
        "unsubscribed": obj({"date": ISO_TIME}),
        "lastMessage": ref("LastMessage"),  # only with Search Chats' withLastMessage=1 (inboxd)
    },
    required=["_id", *_CHAT_COMMON, "channel", "entityPhone", "clientPhoneE164", "clientPhone",
              "last_message_timestamp", "labels", "crmData"],
    description="A chat as Search Chats renders it (the full view, without `lastMessage`).",
    example=_CHAT_FULL_EXAMPLE,
)
LAST_MESSAGE = obj({"type": STRING, "text": STRING, "media": array(ref("MediaItem"))}, required=["type"])
CHAT_PUBLIC: Schema = obj(
    {
        "success": TRUE,
        **_CHAT_COMMON,
        "lastMessage": nullable(ref("LastMessage")),
        "lastMessageTimestamp": nullable(EPOCH_MS),
    },
    description="A chat as Get Chat by Chat ID renders it (the public view: no `_id`, labels, CRM data).",
    example={
        "success": True, "title": "John Doe", "channelInfo": CHANNEL_INFO_EXAMPLE, "departmentId": None,
        "agent": {"uid": None, "displayName": ""}, "status": 1, "created": "2025-02-26T13:02:58.353Z",
        "updatedAt": "2025-11-01T15:48:14.076Z", "lastIncomingMessageTimestamp": 1762012091000,
        "lastMessage": {"type": "text", "text": "Thanks!"}, "unreadCount": 1, "botState": {},
        "lastMessageTimestamp": 1762012091000, "externalBot": False,
    },
)
CHAT_SEARCH = obj(
    {"data": array(ref("ChatFull")), "total": {"type": "integer", "minimum": 0}},
    description="One page of the chats that match, newest message first, and how many match in all.",
    example={"data": [_CHAT_FULL_EXAMPLE], "total": 1},
)

# ----------------------------------------------------------------------------- files

FILE_SHARE = obj(
    {"token": {"type": "string", "pattern": "^[0-9a-f]{100}$"}, "url": STRING},
    description="A public, read-only link to the file (no token needed to read it).",
    example={"token": "586c" + "0" * 96, "url": f"https://inbox.example.com/server/files/shared/{FILE_ID}/586c" + "0" * 96},
)
UPLOADED_FILE = obj(
    {"success": TRUE, "fileId": ID, "filename": nullable(STRING), "contentType": STRING,
     "size": {"type": "integer", "minimum": 1}, "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
    description="The stored file; its `fileId` goes into a send's `media[].fileId`.",
    example={"success": True, "fileId": FILE_ID, "filename": "offer_october_2025.pdf", "contentType": "application/pdf",
             "size": 48213, "sha256": "9f" * 32},
)
FILE_CONTENT: Schema = {"type": "string", "format": "binary", "description": "The file, with its stored type."}

# ----------------------------------------------------------------------------- templates

LOCALIZATION = obj(
    {"language": STRING, "status": STRING, "components": array(OBJECT), "rejectionReason": STRING,
     "metadata": OBJECT, "createdAt": EPOCH_MS, "lastUpdated": EPOCH_MS, "qualityScore": {}},
    required=["language", "status", "components", "rejectionReason", "metadata", "createdAt", "lastUpdated"],
)
TEMPLATE: Schema = obj(
    {
        "_id": ID, "name": STRING, "title": STRING, "usage": STRING,
        "chatStatus": {"type": "integer", "minimum": 0, "maximum": 4},
        "created": EPOCH_MS, "updatedAt": ISO_TIME, "departments": array({}), "isDefault": BOOLEAN,
        "provider": STRING, "channelInfo": obj({"name": STRING, "accountId": STRING}),
        "defaults": OBJECT, "localizationDrafts": OBJECT,
        "provider_template": obj({"name": STRING, "category": STRING, "localizations": array(ref("TemplateLocalization")),
                                  "metadata": OBJECT}),
        "setBotNode": {}, "bot": {}, "replyText": {}, "responsibleAgent": {}, "responsibleDepartment": {},
        "attachedFile": {},
    },
    required=["_id", "name", "title", "usage", "chatStatus", "created", "updatedAt", "departments", "isDefault",
              "provider", "channelInfo", "defaults", "localizationDrafts", "provider_template"],
    description="A template (Texter §7.1) with its localizations at WhatsApp and its drafts.",
    example=_TEMPLATE_EXAMPLE,
)
TEMPLATE_LIST = array(ref("Template"), description="The templates that match.", example=[_TEMPLATE_EXAMPLE])
TEMPLATE_SENT = obj(
    {"success": TRUE, "text": nullable(STRING), "sentAsSessionMessage": BOOLEAN, "messageId": ID, "chatId": ID,
     "messages": array(ref("Message"))},
    description="The template message (or, inside the window with `sessionMessage`, the session message) sent.",
    example={"success": True, "text": "Hi Dana, order 15033 is ready", "sentAsSessionMessage": False,
             "messageId": MESSAGE_ID, "chatId": CHAT_ID, "messages": [{**_MESSAGE_EXAMPLE, "type": "special",
                                                                        "text": "Hi Dana, order 15033 is ready"}]},
)
TEMPLATE_UNSUBSCRIBED = obj(
    {"success": {"type": "boolean", "enum": [False]}, "error": STRING, "code": {"type": "string", "enum": ["recipient_unsubscribed"]},
     "details": array(OBJECT), "unsubscribed": obj({"date": ISO_TIME}), "chatId": nullable(ID)},
    description="Texter's answer for a recipient who unsubscribed: HTTP 200 with `success: false`; nothing is sent.",
    example={"success": False, "error": "Recipient unsubscribed from template messages on 2025-11-01T15:48:14.076Z.",
             "code": "recipient_unsubscribed", "details": [], "unsubscribed": {"date": "2025-11-01T15:48:14.076Z"},
             "chatId": CHAT_ID},
)
TEMPLATE_SEND_RESULT: Schema = {
    "oneOf": [ref("TemplateSent"), ref("TemplateRecipientUnsubscribed")],
    "description": "Sent, or refused because the recipient unsubscribed (both HTTP 200, as in Texter).",
    "example": TEMPLATE_SENT["example"],
}
UNSUBSCRIBED_USERS = array(
    obj({"phone": STRING, "title": STRING, "accountId": STRING, "date": ISO_TIME}, required=["phone", "accountId", "date"]),
    description="Contacts unsubscribed from template messages, oldest first.",
    example=[{"phone": f"+{CONTACT}", "title": "Dana", "accountId": ACCOUNT, "date": "2025-11-01T15:48:14.076Z"}],
)

# ----------------------------------------------------------------------------- event subscriptions

REVISION = obj(
    {"_id": ID, "scenarioId": ID, "name": STRING, "description": {}, "status": {"type": "string", "enum": ["active", "inactive"]},
     "version": INTEGER, "parentVersion": {}, "revisionComment": {}, "triggerEvents": array(STRING), "conditions": {},
     "loaders": {}, "actions": array(OBJECT), "loops": {}, "tags": {}, "attachedData": {}, "options": OBJECT,
     "metadata": OBJECT},
    required=["_id", "scenarioId", "name", "triggerEvents", "conditions", "loaders", "actions", "metadata"],
)
SCENARIO: Schema = obj(
    {"_id": ID, "activeRevision": ref("ScenarioRevision"), "inactiveRevisions": array(ref("ScenarioRevision")),
     "drafts": array(ref("ScenarioRevision")), "system": BOOLEAN},
    required=["_id", "inactiveRevisions", "drafts", "system"],
    description="An event subscription (Texter scenario, §10.1); `activeRevision` only while it is active.",
    example=_SCENARIO_EXAMPLE,
)
SCENARIO_CREATED: Schema = {
    "allOf": [ref("Scenario"), obj({"signingSecret": {"type": "string", "description": "Keys the deliveries' "
                                    "`X-Inboxd-Signature`; shown only in this answer."}})],
    "description": "The new scenario, with its signing secret (shown only here).",
    "example": {**_SCENARIO_EXAMPLE, "signingSecret": "whsec_" + "x" * 43},
}
SCENARIO_LIST = obj(
    {"total": {"type": "integer", "minimum": 0}, "scenarios": array(ref("Scenario"))},
    description="One page of the subscriptions, oldest first, and how many there are.",
    example={"total": 1, "scenarios": [_SCENARIO_EXAMPLE]},
)
SCENARIO_DELETED = obj({"success": TRUE, "_id": ID}, description="The scenario is gone.",
                       example={"success": True, "_id": SCENARIO_ID})
RUN = obj(
    {"_id": ID, "scenarioId": ID, "revisionId": ID, "triggerEvent": STRING, "eventName": nullable(STRING),
     "chatId": nullable(STRING), "status": {"type": "string", "enum": ["pending", "delivered", "failed"]},
     "request": obj({"method": STRING, "url": STRING}), "created": EPOCH_MS, "nextAttemptAt": nullable(EPOCH_MS),
     "finishedAt": nullable(EPOCH_MS), "attemptCount": INTEGER, "lastStatusCode": nullable(INTEGER),
     "lastError": nullable(STRING),
     "attempts": array(obj({"attempt": INTEGER, "startedAt": EPOCH_MS, "latencyMs": nullable(INTEGER),
                            "statusCode": nullable(INTEGER), "outcome": STRING, "error": nullable(STRING)}))},
)
RUN_LIST = obj(
    {"total": {"type": "integer", "minimum": 0}, "runs": array(ref("ScenarioRun"))},
    description="One page of the subscription's deliveries, newest first, each with every attempt.",
    example={"total": 1, "runs": [_RUN_EXAMPLE]},
)

# ----------------------------------------------------------------------------- small answers

SUCCESS = obj({"success": TRUE}, description="Done.", example={"success": True})
OK_STRING: Schema = {"type": "string", "enum": ["OK"], "description": 'The JSON string `"OK"` (as in Texter).',
                     "example": "OK"}
WEBHOOK_ACCEPTED = obj({"success": TRUE, "eventId": STRING}, description="The webhook is stored; it is processed next.",
                       example={"success": True, "eventId": "6912a3b1d0c2473c648f3cd2"})
HEALTH = obj({"success": TRUE, "status": {"type": "string", "enum": ["ok"]}, "version": STRING, "database": STRING},
             description="The server and its database answer.",
             example={"success": True, "status": "ok", "version": "0.1.0", "database": "sqlite"})
PLAIN_TEXT: Schema = {"type": "string"}

# ----------------------------------------------------------------------------- the simulator's control API

SIM_CONFIG = obj({"phone_number_id": STRING, "display_phone_number": STRING, "mps": INTEGER}, required=[],
                 description="The simulator's configuration, without its secrets.",
                 example={"phone_number_id": "100000000000001", "display_phone_number": ACCOUNT, "mps": 80,
                          "enforce_window": True})
SIM_INFO = obj({"graph_url": nullable(STRING), "config": ref("SimulatorConfig"), "contacts": INTEGER, "media": INTEGER,
                "templates": INTEGER, "faults": array(ref("SimulatorFault")), "invalid_recipients": array(STRING),
                "webhooks": OBJECT, "started_at": INTEGER},
               description="What the simulator plays and how it is doing.",
               example={"graph_url": "http://127.0.0.1:8080/simulator/graph", "config": {"mps": 80}, "contacts": 1,
                        "media": 0, "templates": 1, "faults": [], "invalid_recipients": [], "webhooks": {},
                        "started_at": 1762848000})
SIM_CONTACT = obj({"wa_id": STRING, "name": nullable(STRING), "last_inbound_at": nullable(INTEGER),
                   "window_open": BOOLEAN, "window_expires_at": nullable(INTEGER),
                   "window_override": nullable(BOOLEAN), "sent_count": INTEGER, "inbound_count": INTEGER,
                   "marked_read": array(STRING)},
                  description="A simulated WhatsApp user.",
                  example={"wa_id": CONTACT, "name": "Dana", "last_inbound_at": 1762848000, "window_open": True,
                           "window_expires_at": 1762934400, "window_override": None, "sent_count": 0,
                           "inbound_count": 1, "marked_read": []})
SIM_CONTACTS = obj({"data": array(ref("SimulatorContact"))}, description="Every simulated user.",
                   example={"data": [SIM_CONTACT["example"]]})
SIM_SENT = obj({"data": array(obj({"id": STRING, "timestamp": {}, "status": STRING, "statuses": array(STRING),
                                   "payload": OBJECT})), "total": INTEGER},
               description="What the business sent this user, oldest first.",
               example={"data": [{"id": WAMID, "timestamp": 1762848001, "status": "read",
                                  "statuses": ["sent", "delivered", "read"], "payload": {"type": "text"}}], "total": 1})
SIM_INBOUND = obj({"success": TRUE}, required=["success"], description="The new message's wamid (and media id).",
                  example={"success": True, "wamid": WAMID})
SIM_RECIPIENTS = obj({"recipients": array(STRING)}, description="Users whose messages fail with 131026.",
                     example={"recipients": ["15550009999"]})
SIM_FAULT = obj({"id": {}, "kind": STRING, "remaining": INTEGER}, required=["kind", "remaining"],
                description="An armed fault.", example={"id": 1, "kind": "http_500", "remaining": 1, "recipient": None,
                                                        "endpoint": "messages"})
SIM_FAULTS = obj({"data": array(ref("SimulatorFault"))}, description="The faults still armed.",
                 example={"data": [SIM_FAULT["example"]]})
SIM_WEBHOOKS = obj({}, required=[], description="Webhook delivery: pending, counters, the last 200 POSTs.",
                   example={"pending": 0, "delivered": 12, "recent": []})
SIM_TEMPLATE = obj({"name": STRING, "language": STRING, "status": STRING, "category": STRING, "id": STRING,
                    "components": array(OBJECT)}, required=["name", "language", "status", "id"],
                   description="A template of the simulated WABA.",
                   example={"name": "hello_world", "parameter_format": "POSITIONAL", "components": [],
                            "language": "en_US", "status": "APPROVED", "category": "UTILITY", "id": "1043789012345678"})
SIM_TEMPLATES = obj({"data": array(ref("SimulatorTemplate"))}, description="The WABA's templates.",
                    example={"data": [SIM_TEMPLATE["example"]]})

SCHEMAS: dict[str, Schema] = {
    "Error": ERROR,
    "ChannelInfo": CHANNEL_INFO,
    "StatusEntry": STATUS_ENTRY,
    "MediaItem": MEDIA_ITEM,
    "Message": MESSAGE,
    "MessagePage": MESSAGE_PAGE,
    "SentMessages": SENT_MESSAGES,
    "ChatAgent": AGENT_REF,
    "LastMessage": LAST_MESSAGE,
    "ChatFull": CHAT_FULL,
    "ChatPublic": CHAT_PUBLIC,
    "ChatSearchPage": CHAT_SEARCH,
    "FileShare": FILE_SHARE,
    "UploadedFile": UPLOADED_FILE,
    "FileContent": FILE_CONTENT,
    "TemplateLocalization": LOCALIZATION,
    "Template": TEMPLATE,
    "TemplateList": TEMPLATE_LIST,
    "TemplateSent": TEMPLATE_SENT,
    "TemplateRecipientUnsubscribed": TEMPLATE_UNSUBSCRIBED,
    "TemplateSendResult": TEMPLATE_SEND_RESULT,
    "UnsubscribedUsers": UNSUBSCRIBED_USERS,
    "ScenarioRevision": REVISION,
    "Scenario": SCENARIO,
    "ScenarioCreated": SCENARIO_CREATED,
    "ScenarioList": SCENARIO_LIST,
    "ScenarioDeleted": SCENARIO_DELETED,
    "ScenarioRun": RUN,
    "ScenarioRunList": RUN_LIST,
    "Success": SUCCESS,
    "OkString": OK_STRING,
    "WebhookAccepted": WEBHOOK_ACCEPTED,
    "Health": HEALTH,
    "PlainText": PLAIN_TEXT,
    "SimulatorConfig": SIM_CONFIG,
    "SimulatorInfo": SIM_INFO,
    "SimulatorContact": SIM_CONTACT,
    "SimulatorContacts": SIM_CONTACTS,
    "SimulatorSent": SIM_SENT,
    "SimulatorInbound": SIM_INBOUND,
    "SimulatorRecipients": SIM_RECIPIENTS,
    "SimulatorFault": SIM_FAULT,
    "SimulatorFaults": SIM_FAULTS,
    "SimulatorWebhooks": SIM_WEBHOOKS,
    "SimulatorTemplate": SIM_TEMPLATE,
    "SimulatorTemplates": SIM_TEMPLATES,
}

# ----------------------------------------------------------------------------- chat management, labels

AGENT_UID = "4d170fc7-5cd6-4496-98e4-f4f03a11456e"
QUICK_REPLY_ID, PROBLEM_ID = "6912a4c0d0c2473c648f3ce1", "68cc1241bafffd81d455e788"
_CHAT_OBJECT_EXAMPLE = {**_CHAT_FULL_EXAMPLE, "lastMessage": {"type": "text", "text": "Thanks!"}}
CHAT_OBJECT: Schema = {
    "allOf": [ref("ChatFull"), obj({"lastMessage": nullable(ref("LastMessage"))}, required=[])],
    "description": "The Chat object (§5.1), as the chat-management endpoints answer it: Search Chats' rendering "
                   "and `lastMessage`.",
    "example": _CHAT_OBJECT_EXAMPLE,
}
CHAT_CHANGED: Schema = {
    "allOf": [ref("Chat"), obj({"success": TRUE})],
    "description": "Done: `success` and the chat as it now is.",
    "example": {"success": True, **_CHAT_OBJECT_EXAMPLE},
}
CHAT_RESOLVED = obj(
    {"success": TRUE,
     "notification": obj({"sent": BOOLEAN, "messageId": ID, "code": STRING, "reason": STRING,
                          "lastIncomingMessageTimestamp": nullable(EPOCH_MS), "hint": STRING}, required=["sent"],
                         description="With `notifyClient`: whether the resolution message went, or why not.")},
    required=["success"],
    description="The chat is resolved.",
    example={"success": True, "notification": {"sent": True, "messageId": MESSAGE_ID}},
)
CHAT_READ = obj(
    {"success": TRUE, "unreadCount": {"type": "integer", "enum": [0]},
     "readReceipt": {"type": "string", "enum": ["sent", "failed", "off", "none"]}},
    description="The chat is read; `readReceipt`: what became of WhatsApp's read receipt.",
    example={"success": True, "unreadCount": 0, "readReceipt": "sent"},
)
COUNT = {"type": "integer", "minimum": 0}


def counted(key: str, item: str, description: str, example: Any) -> Schema:
    """`{total, <key>: [<item>, …]}`: a page of a list and how many there are in all."""
    return obj({"total": COUNT, key: array(ref(item))}, description=description, example={"total": 1, key: [example]})


_LABEL_EXAMPLE = {"id": "important", "name": "Important!", "color": "#a83236"}
LABEL = obj(
    {"id": STRING, "name": STRING, "color": {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$"}, "system": TRUE},
    required=["id", "name", "color"],
    description="A label (§6); `system: true` on inboxd's own labels.",
    example=_LABEL_EXAMPLE,
)
LABEL_LIST = counted("labels", "Label", "One page of the labels (system labels first) and how many there are.",
                     _LABEL_EXAMPLE)

# ----------------------------------------------------------------------------- agents, departments

_AGENT_EXAMPLE = {
    "uid": AGENT_UID, "email": "tyler@example.com", "displayName": "Tyler", "crmId": "crm-7", "roles": ["agent"],
    "departments": ["customer_service"], "active": True, "presence": "online", "maxOpenChats": 20, "openChats": 3,
    "created": "2025-11-01T15:48:14.076Z", "updatedAt": "2025-11-01T15:48:14.076Z",
}
AGENT = obj(
    {"uid": STRING, "email": STRING, "displayName": STRING, "crmId": nullable(STRING), "roles": array(STRING),
     "departments": array(STRING), "active": BOOLEAN,
     "presence": {"type": "string", "enum": ["online", "away", "offline"]},
     "maxOpenChats": nullable({"type": "integer", "minimum": 0}), "openChats": {"type": "integer", "minimum": 0},
     "created": ISO_TIME, "updatedAt": ISO_TIME},
    description="An agent (never their password or its hash); `openChats`: their PENDING and ASSIGNED chats.",
    example=_AGENT_EXAMPLE,
)
AGENT_LIST = counted("agents", "Agent", "Every agent.", _AGENT_EXAMPLE)
_DEPARTMENT_EXAMPLE = {"id": "customer_service", "name": "Customer service", "assignment": "round_robin",
                       "members": [AGENT_UID], "created": "2025-11-01T15:48:14.076Z",
                       "updatedAt": "2025-11-01T15:48:14.076Z"}
DEPARTMENT = obj(
    {"id": STRING, "name": STRING, "assignment": {"type": "string", "enum": ["manual", "round_robin"]},
     "members": array(STRING), "created": ISO_TIME, "updatedAt": ISO_TIME},
    description="A department: its agents (`members`) and how its waiting chats are handed out.",
    example=_DEPARTMENT_EXAMPLE,
)
DEPARTMENT_LIST = counted("departments", "Department", "Every department.", _DEPARTMENT_EXAMPLE)

# ----------------------------------------------------------------------------- quick replies

_QUICK_REPLY_EXAMPLE = {
    "_id": QUICK_REPLY_ID,
    "send": {"contents": [{"type": "text", "text": "Thanks for reaching out! An agent will reply shortly."}],
             "target": [{"name": "whatsapp", "accountId": ACCOUNT}]},
    "display": {"position": "top", "title": "Greeting", "departments": [], "users": []},
    "metadata": {"created": 1762012091000, "updated": 1762012091000},
}
QUICK_REPLY = obj(
    {"_id": ID,
     "send": obj({"contents": array(OBJECT), "target": array(obj({"name": STRING, "accountId": STRING, "id": STRING},
                                                                 required=["name", "accountId"])),
                  "betweenMessagesDelay": {"type": "number", "minimum": 0}}, required=["contents", "target"]),
     "display": obj({"position": {"type": "string", "enum": ["top", "main"]}, "title": STRING, "note": STRING,
                     "departments": array(STRING), "users": array(STRING)}, required=["position", "departments", "users"]),
     "metadata": obj({"created": EPOCH_MS, "updated": EPOCH_MS, "client": {}}, required=["created", "updated"])},
    description="A quick reply (§8): what it sends, where, and how the inbox shows it.",
    example=_QUICK_REPLY_EXAMPLE,
)
QUICK_REPLY_LIST = counted("quickReplies", "QuickReply", "One page of the quick replies that match, and how many "
                           "match.", _QUICK_REPLY_EXAMPLE)

# ----------------------------------------------------------------------------- channel health

_PROBLEM_EXAMPLE = {
    "_id": PROBLEM_ID, "channel": "whatsapp", "accountId": ACCOUNT,
    "name": "whatsapp_business_has_limited_messaging_availability", "caseId": "9f2c" * 16, "severity": "error",
    "impairedFunctionality": {"send": True, "receive": False},
    "message": "The Business has not passed business verification. It can start conversations with only 250 "
               "customers a day.",
    "instruction": "Visit business settings and start or resolve the business verification request.",
    "createdAt": 1758204481268, "startedAt": 1758204400000,
    "source": {"kind": "webhook", "field": "business_capability_update", "limit": 250},
}
PROBLEM = obj(
    {"_id": ID, "channel": STRING, "accountId": STRING, "name": STRING, "caseId": STRING,
     "severity": {"type": "string", "enum": ["error", "warning"]},
     "impairedFunctionality": obj({"send": BOOLEAN, "receive": BOOLEAN}, required=[]), "message": STRING,
     "instruction": STRING, "createdAt": EPOCH_MS, "startedAt": EPOCH_MS, "resolvedAt": EPOCH_MS,
     "resolvedBy": {"type": "string", "enum": ["signal", "operator"]}, "source": OBJECT},
    required=["_id", "channel", "accountId", "name", "caseId", "severity", "impairedFunctionality", "message",
              "createdAt", "startedAt", "source"],
    description="A channel health problem (§9); `resolvedAt` absent while it is active.",
    example=_PROBLEM_EXAMPLE,
)
PROBLEM_LIST = counted("problems", "Problem", "One page of the problems that match, newest first, and how many "
                       "match.", _PROBLEM_EXAMPLE)
PROBLEM_RESOLVED = obj({"success": TRUE, "problem": ref("Problem")}, description="The problem, resolved.",
                       example={"success": True, "problem": {**_PROBLEM_EXAMPLE, "resolvedAt": 1758205000000,
                                                             "resolvedBy": "operator"}})

# ----------------------------------------------------------------------------- live stream, scenario components

LIVE_EVENT = obj(
    {"event": STRING, "data": STRING, "id": {"type": "string", "pattern": "^[0-9]+$"}, "retry": INTEGER},
    required=["event", "data"],
    description="One server-sent event of the stream: `id` (the event id), `event` (its type), `data` (its JSON "
                "object, one line). docs/live.md.",
    example='retry: 2000\n\nid: 42\nevent: chat.updated\ndata: {"chatId":"67bf11038b24880cc966f799"}\n\n',
)
LIVE_SNAPSHOT = obj({"success": TRUE, "lastEventId": {"type": "integer", "minimum": 0},
                     "retentionHours": {"type": "number", "minimum": 0}},
                    description="The id of the last committed event, and how long events are kept for replay.",
                    example={"success": True, "lastEventId": 42, "retentionHours": 24})
SCENARIO_COMPONENTS = obj(
    {"success": TRUE, "triggerEvents": array(obj({"name": STRING, "description": STRING, "providers": array(STRING)},
                                                 required=["name"])),
     "loaders": array(OBJECT), "conditions": array(OBJECT), "actions": array(OBJECT), "draftOperations": array(OBJECT)},
    description="What a scenario may contain: trigger events, loaders, conditions, actions, Update Draft's operations.",
    example={"success": True,
             "triggerEvents": [{"name": "domain.message.created", "description": "a message was stored",
                                "providers": ["message"]}],
             "loaders": [], "conditions": [], "actions": [],
             "draftOperations": [{"op": "rename", "fields": [{"name": "name", "required": True}]}]},
)
SIM_ACCESS_TOKEN = obj({"access_token": STRING}, description="The new access token.",
                       example={"access_token": "EAAG-new-token"})
SIM_QUALITY = obj({"quality_rating": STRING, "event": nullable(STRING)},
                  description="The quality rating, and the webhook event it posted (FLAGGED, UNFLAGGED or none).",
                  example={"quality_rating": "RED", "event": "FLAGGED"})

SCHEMAS.update({
    "Chat": CHAT_OBJECT,
    "ChatChanged": CHAT_CHANGED,
    "ChatResolved": CHAT_RESOLVED,
    "ChatRead": CHAT_READ,
    "Label": LABEL,
    "LabelList": LABEL_LIST,
    "Agent": AGENT,
    "AgentList": AGENT_LIST,
    "Department": DEPARTMENT,
    "DepartmentList": DEPARTMENT_LIST,
    "QuickReply": QUICK_REPLY,
    "QuickReplyList": QUICK_REPLY_LIST,
    "Problem": PROBLEM,
    "ProblemList": PROBLEM_LIST,
    "ProblemResolved": PROBLEM_RESOLVED,
    "LiveEvent": LIVE_EVENT,
    "LiveSnapshot": LIVE_SNAPSHOT,
    "ScenarioComponents": SCENARIO_COMPONENTS,
    "SimulatorAccessToken": SIM_ACCESS_TOKEN,
    "SimulatorQuality": SIM_QUALITY,
})

# ----------------------------------------------------------------------------- request bodies
# The bodies of the resources the fuzzer creates, gets, updates and deletes through the links
# (labels, departments, agents): as strict as the routes' own checks (`domain.labels`,
# `agents.requests`), never stricter, so that what the schema refuses the route refuses too.

_SLUG = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[a-z0-9]+(?:[_-][a-z0-9]+)*$"}
_UUID = {"type": "string", "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"}
_COLOR = {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$"}
_LABEL_NAME = {"type": "string", "minLength": 1, "maxLength": 100}
LABEL_CREATE = obj({"id": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[^/\\x00-\\x1f\\x7f]+$"},
                    "name": _LABEL_NAME, "color": _COLOR},
                   required=["id", "name"], additionalProperties=False)
LABEL_UPDATE = obj({"name": _LABEL_NAME, "color": _COLOR}, required=[], minProperties=1, additionalProperties=False)
_DEPARTMENT_FIELDS: dict[str, Schema] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 100},
    "assignment": {"type": "string", "enum": ["manual", "round_robin"]},
    "members": array(_UUID, maxItems=1000),
}
DEPARTMENT_CREATE = obj({"id": _SLUG, **_DEPARTMENT_FIELDS}, required=["id", "name"], additionalProperties=False)
DEPARTMENT_UPDATE = obj(_DEPARTMENT_FIELDS, required=[], additionalProperties=False)
_PRESENCE = {"type": "string", "enum": ["online", "away", "offline"]}
_AGENT_FIELDS: dict[str, Schema] = {
    "email": {"type": "string", "minLength": 3, "maxLength": 320, "pattern": "^[^@\\s]+@[^@\\s]+$"},
    "displayName": {"type": "string", "minLength": 1, "maxLength": 255},
    "crmId": nullable({"type": "string", "minLength": 1, "maxLength": 255}),
    "roles": array({"type": "string", "enum": ["admin", "agent"]}, minItems=1),
    "departments": array(_SLUG, maxItems=1000),
    "active": BOOLEAN,
    "presence": _PRESENCE,
    "maxOpenChats": nullable({"type": "integer", "minimum": 1, "maximum": 100_000}),
    "password": {"type": "string", "minLength": 8, "maxLength": 1024},
}
AGENT_CREATE = obj(_AGENT_FIELDS, required=["email", "displayName"], additionalProperties=False)
AGENT_UPDATE = obj(_AGENT_FIELDS, required=[], additionalProperties=False)
PRESENCE_UPDATE = obj({"presence": _PRESENCE}, additionalProperties=False)

SCHEMAS.update({
    "LabelCreateRequest": LABEL_CREATE,
    "LabelUpdateRequest": LABEL_UPDATE,
    "DepartmentCreateRequest": DEPARTMENT_CREATE,
    "DepartmentUpdateRequest": DEPARTMENT_UPDATE,
    "AgentCreateRequest": AGENT_CREATE,
    "AgentUpdateRequest": AGENT_UPDATE,
    "PresenceRequest": PRESENCE_UPDATE,
})

# ----------------------------------------------------------------------------- sign-in (docs/sign-in.md)

_CSRF_EXAMPLE = "6c0d0f2f3c8e4f7d9b1a2e3c4d5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7"
SIGNED_IN = obj(
    {"success": TRUE, "agent": ref("Agent"),
     "csrfToken": {"type": "string", "description": "Send it as X-CSRF-Token with every POST, PUT, PATCH, DELETE."}},
    description="Signed in: the agent, and the session's CSRF token (the session itself is the cookie).",
    example={"success": True, "agent": _AGENT_EXAMPLE, "csrfToken": _CSRF_EXAMPLE},
)
SIGNED_IN_SESSION = obj(
    {"success": TRUE, "agent": ref("Agent"), "csrfToken": STRING,
     "scopes": array(STRING, description="What the agent's role allows (scope names, as tokens hold them).")},
    description="The signed-in agent, the session's CSRF token, and the scopes of their role.",
    example={"success": True, "agent": _AGENT_EXAMPLE, "csrfToken": _CSRF_EXAMPLE,
             "scopes": ["List all chats", "Manage all chats", "Send session message", "View all chats"]},
)

_TOKEN_EXAMPLE = {"id": "6912a3b1d0c2473c648f3cd2", "name": "CRM sync", "scopes": ["List all chats", "Send session message"],
                  "created": "2025-11-11T08:00:04.000Z", "lastUsed": None, "revoked": None,
                  "rateLimit": {"perSecond": 20.0, "burst": 40}}
TOKEN = obj(
    {"id": ID, "name": STRING, "scopes": array(STRING), "created": ISO_TIME, "lastUsed": nullable(ISO_TIME),
     "revoked": nullable(ISO_TIME),
     "rateLimit": nullable(obj({"perSecond": NUMBER, "burst": INTEGER}))},
    description="An API token, never its secret. `rateLimit`: its own limit (null: the configured default).",
    example=_TOKEN_EXAMPLE,
)
TOKEN_LIST = obj({"success": TRUE, "total": {"type": "integer", "minimum": 0}, "tokens": array(ref("ApiToken"))},
                 description="Every API token, revoked ones too, oldest first.",
                 example={"success": True, "total": 1, "tokens": [_TOKEN_EXAMPLE]})
TOKEN_CREATED = obj(
    {"success": TRUE, "token": ref("ApiToken"),
     "secret": {"type": "string", "description": "The token itself: shown this once, stored only as its SHA-256."}},
    description="The new token, and its secret (shown once).",
    example={"success": True, "token": _TOKEN_EXAMPLE, "secret": "inboxd_" + "x" * 43},
)
_CHANNEL_EXAMPLE = {
    "id": "6912a0c4d0c2473c648f3ca1", "channel": "whatsapp", "accountId": ACCOUNT, "phoneNumberId": "106540352242922",
    "wabaId": "102290129340398", "graphUrl": "https://graph.facebook.com", "apiVersion": "v23.0", "mps": 80,
    "sandbox": False, "readReceipts": True, "created": "2025-11-11T08:00:04.000Z",
    "defaultDepartment": "customer_service", "resolutionMessage": "Thanks! We are here if you need us.",
    "health": {"status": "warning", "openProblems": 1, "errors": 0, "warnings": 1, "qualityRating": "GREEN"},
}
CHANNEL_ACCOUNT = obj(
    {"id": ID, "channel": STRING, "accountId": STRING, "phoneNumberId": STRING, "wabaId": nullable(STRING),
     "graphUrl": STRING, "apiVersion": STRING, "mps": INTEGER, "sandbox": BOOLEAN, "readReceipts": BOOLEAN,
     "created": ISO_TIME, "defaultDepartment": nullable(STRING), "resolutionMessage": nullable(STRING),
     "health": obj({"status": {"type": "string", "enum": ["ok", "warning", "error"]},
                    "openProblems": INTEGER, "errors": INTEGER, "warnings": INTEGER,
                    "qualityRating": nullable(STRING)})},
    description="A channel account, without its credentials, and its health at a glance.",
    example=_CHANNEL_EXAMPLE,
)
CHANNEL_ACCOUNT_LIST = obj(
    {"success": TRUE, "total": {"type": "integer", "minimum": 0}, "channels": array(ref("ChannelAccount"))},
    description="Every channel account.", example={"success": True, "total": 1, "channels": [_CHANNEL_EXAMPLE]},
)
SCHEMAS.update({"SignedIn": SIGNED_IN, "SignedInSession": SIGNED_IN_SESSION, "ApiToken": TOKEN,
                "TokenList": TOKEN_LIST, "TokenCreated": TOKEN_CREATED, "ChannelAccount": CHANNEL_ACCOUNT,
                "ChannelAccountList": CHANNEL_ACCOUNT_LIST})
