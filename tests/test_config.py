"""Every setting is documented in the README's configuration table."""

from __future__ import annotations

import re
from pathlib import Path

from inboxd.config import Settings

README = Path(__file__).parent.parent / "README.md"


def test_readme_lists_every_setting() -> None:
    table = re.findall(r"^\| `(INBOXD_[A-Z0-9_]+)` \|", README.read_text(), flags=re.M)
    expected = {f"INBOXD_{name.upper()}" for name in Settings.model_fields}
    assert set(table) == expected, {"undocumented": expected - set(table), "not a setting": set(table) - expected}


def test_every_setting_has_a_description() -> None:
    assert [n for n, f in Settings.model_fields.items() if not f.description] == []
