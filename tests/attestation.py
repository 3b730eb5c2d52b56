"""The built-in attestation instrument's structure, read from its YAML (for the form tests)."""

from __future__ import annotations

from surveys.instruments.definitions import validate_definition
from surveys.instruments.services import builtin_definition_files, read_definition_file

DEFINITION = validate_definition(
    read_definition_file(next(p for p in builtin_definition_files() if p.stem == "attestation"))
)
#: Item keys of each section, in order.
SECTION_ITEMS = [tuple(item["key"] for item in s["items"]) for s in DEFINITION["sections"]]
SECTIONS = len(SECTION_ITEMS)
#: Every required item (all scale items; the free texts are optional).
REQUIRED_ITEMS = tuple(
    item["key"] for s in DEFINITION["sections"] for item in s["items"] if item["required"]
)
