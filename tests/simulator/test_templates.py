"""The template store and the checks of a template send."""

from __future__ import annotations

import pytest

from inboxd.simulator.errors import GraphFault
from inboxd.simulator.templates import TemplateStore, check_template_send


def body(name: str = "order_update", text: str = "Order {{1}} ships {{2}}") -> dict:  # type: ignore[type-arg]
    return {"name": name, "language": "en_US", "category": "UTILITY", "components": [{"type": "BODY", "text": text}]}


def send(name: str = "order_update", params: int = 2) -> dict:  # type: ignore[type-arg]
    parameters = [{"type": "text", "text": str(i)} for i in range(params)]
    return {"name": name, "language": {"code": "en_US"}, "components": [{"type": "body", "parameters": parameters}]}


def code_of(store: TemplateStore, template: dict) -> int | None:  # type: ignore[type-arg]
    try:
        check_template_send(store, template)
    except GraphFault as fault:
        return fault.code
    return None


def test_a_template_must_exist_be_approved_and_get_its_parameters() -> None:
    store = TemplateStore()
    assert code_of(store, send()) == 132001
    template = store.create(body())
    assert template.status == "PENDING" and code_of(store, send()) == 132001
    template.status = "APPROVED"
    assert code_of(store, send()) is None
    assert code_of(store, send(params=1)) == 132000
    template.status = "PAUSED"
    assert code_of(store, send()) == 132015
    template.status = "DISABLED"
    assert code_of(store, send()) == 132016


def test_named_placeholders_count_once_each() -> None:
    store = TemplateStore()
    store.create(body(text="Hi {{first_name}}, {{first_name}}! Code {{code}}")).status = "APPROVED"
    assert code_of(store, send(params=2)) is None


def test_hello_world_is_seeded_and_comes_back_after_reset() -> None:
    store = TemplateStore()
    assert code_of(store, {"name": "hello_world", "language": {"code": "en_US"}}) is None
    store.delete(name="hello_world", template_id=None)
    assert code_of(store, {"name": "hello_world", "language": {"code": "en_US"}}) == 132001
    store.seed()
    assert code_of(store, {"name": "hello_world", "language": {"code": "en_US"}}) is None


@pytest.mark.parametrize("bad", [None, [], {"name": "x"}, {**body(), "name": "UPPER"}, {**body(), "components": "x"}])
def test_invalid_creations_are_error_100(bad: object) -> None:
    with pytest.raises(GraphFault) as raised:
        TemplateStore().create(bad)
    assert raised.value.code == 100
