"""Plugging templates into a running inboxd: Meta's template status webhooks, and the listener
for contacts' messages (stop words, reply actions). Called once from `Services.build`, so the
API processes and `inboxd worker` processes alike have them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inboxd.domain_events import MESSAGE_CREATED
from inboxd.templates.reply_actions import ContactAnswers
from inboxd.templates.subscriptions import stop_words
from inboxd.templates.sync import STATUS_FIELD, on_status_update

if TYPE_CHECKING:
    from inboxd.services import Services


def install(services: Services) -> None:
    services.inbound.other_handlers[STATUS_FIELD] = on_status_update
    listener = ContactAnswers(stop_words(services.settings.template_stop_words), services.events)
    services.events.subscribe(MESSAGE_CREATED, listener)
    services.inbound.before_announcing = listener.read_ahead
