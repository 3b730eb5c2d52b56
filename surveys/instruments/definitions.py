"""The instrument definition format: validation, normalisation and helpers to walk it.

A definition is a plain mapping (read from YAML or JSON) as described in
``docs/instrument-format.md``. :func:`validate_definition` checks every rule and returns a
*normalised* copy — every optional field filled in with its default, scale label keys as
strings — so that the same questionnaire always has the same canonical JSON (and checksum),
and code reading a stored definition never has to guess a default.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

#: Languages every text must be given in (Uzbek Latin, Russian, English).
LANGUAGES = ("uz", "ru", "en")
KINDS = ("attestation", "interview", "performance", "custom")
NUMERIC_TYPES = ("likert", "nps")
CHOICE_TYPES = ("single_choice", "multiple_choice")
TEXT_TYPES = ("short_text", "long_text")
ITEM_TYPES = (*NUMERIC_TYPES, *CHOICE_TYPES, *TEXT_TYPES, "date")
#: Domains with a fixed meaning in the ratings table and the indicators.
RESERVED_DOMAINS = {"overall": ("likert", 1, 5), "recommend": ("nps", 0, 10)}
#: NPS items always use a 0..10 scale.
NPS_RANGE = (0, 10)
#: Keys end up in ``Answer.item_key`` (64 characters) and in exported CSV files.
KEY_PATTERN = re.compile(r"^[a-z0-9_]{1,64}$")

_TOP_FIELDS = {"key", "kind", "title", "description", "domains", "scales", "sections"}
_SECTION_FIELDS = {"key", "title", "description", "items"}
_ITEM_FIELDS = {
    "key",
    "type",
    "scale",
    "domain",
    "required",
    "allow_na",
    "text",
    "help",
    "options",
    "not_before",
    "not_in_future",
}
_SCALE_FIELDS = {"min", "max", "labels"}
_OPTION_FIELDS = {"key", "label"}


class DefinitionError(ValueError):
    """A definition breaks a rule; the message names the item, section or scale and the rule."""


def validate_definition(data: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``data`` against the instrument format and return its normalised form.

    Raises :class:`DefinitionError` on the first broken rule, with a message such as
    ``item 'tech_knowledge' (section 'competences'): unknown type 'likret'; expected one of …``.
    The input is not modified. Validating a normalised definition returns an equal one.
    """
    if not isinstance(data, Mapping):
        raise DefinitionError(
            f"an instrument definition must be a mapping, got {type(data).__name__}"
        )
    _no_unknown_fields(data, _TOP_FIELDS, "the instrument")
    key = _key(data.get("key"), "the instrument's key")
    kind = data.get("kind")
    if kind not in KINDS:
        raise DefinitionError(
            f"instrument '{key}': kind must be one of {', '.join(KINDS)}, got {kind!r}"
        )
    result: dict[str, Any] = {
        "key": key,
        "kind": kind,
        "title": _translations(data.get("title"), f"instrument '{key}': title"),
    }
    if data.get("description") is not None:
        result["description"] = _translations(
            data["description"], f"instrument '{key}': description"
        )

    domains = data.get("domains") or {}
    if not isinstance(domains, Mapping):
        raise DefinitionError(f"instrument '{key}': domains must be a mapping of key → labels")
    result["domains"] = {
        _key(name, f"domain {name!r}"): _translations(label, f"domain '{name}'")
        for name, label in domains.items()
    }

    scales = data.get("scales") or {}
    if not isinstance(scales, Mapping):
        raise DefinitionError(f"instrument '{key}': scales must be a mapping of key → scale")
    result["scales"] = {
        _key(name, f"scale {name!r}"): _scale(name, scale) for name, scale in scales.items()
    }

    sections = data.get("sections")
    if not isinstance(sections, list) or not sections:
        raise DefinitionError(f"instrument '{key}': sections must be a non-empty list")
    section_keys: set[str] = set()
    item_keys: dict[str, str] = {}
    result["sections"] = []
    for index, section in enumerate(sections, start=1):
        if not isinstance(section, Mapping):
            raise DefinitionError(f"section {index}: must be a mapping")
        skey = _key(section.get("key"), f"section {index}: key")
        where = f"section '{skey}'"
        if skey in section_keys:
            raise DefinitionError(f"{where}: duplicate key '{skey}' (section keys must be unique)")
        section_keys.add(skey)
        _no_unknown_fields(section, _SECTION_FIELDS, where)
        normalised_section: dict[str, Any] = {
            "key": skey,
            "title": _translations(section.get("title"), f"{where}: title"),
        }
        if section.get("description") is not None:
            normalised_section["description"] = _translations(
                section["description"], f"{where}: description"
            )
        items = section.get("items")
        if not isinstance(items, list) or not items:
            raise DefinitionError(f"{where}: items must be a non-empty list")
        normalised_section["items"] = []
        for position, item in enumerate(items, start=1):
            normalised = _item(item, position, skey, result["domains"], result["scales"])
            if normalised["key"] in item_keys:
                raise DefinitionError(
                    f"item '{normalised['key']}' ({where}): duplicate key; it is already used "
                    f"in section '{item_keys[normalised['key']]}' (item keys must be unique in "
                    "the whole instrument)"
                )
            _check_not_before(normalised, normalised_section["items"], where)
            item_keys[normalised["key"]] = skey
            normalised_section["items"].append(normalised)
        result["sections"].append(normalised_section)
    return result


def iter_items(definition: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item of a (normalised) definition, in the order the form shows them."""
    for section in definition["sections"]:
        yield from section["items"]


def iter_sections(definition: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every section of a (normalised) definition, in order."""
    yield from definition["sections"]


def item_map(definition: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The items of a definition by key."""
    return {item["key"]: item for item in iter_items(definition)}


def numeric_items(definition: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The likert and nps items: the ones that enter the ratings table.

    Each entry has ``key``, ``type``, ``domain``, ``scale`` (its key), ``scale_min``,
    ``scale_max`` (ints), ``section``, ``required`` and ``allow_na``.
    """
    scales = definition.get("scales", {})
    rows = []
    for section in definition["sections"]:
        for item in section["items"]:
            if item["type"] not in NUMERIC_TYPES:
                continue
            scale = scales[item["scale"]]
            rows.append(
                {
                    "key": item["key"],
                    "type": item["type"],
                    "domain": item["domain"],
                    "scale": item["scale"],
                    "scale_min": int(scale["min"]),
                    "scale_max": int(scale["max"]),
                    "section": section["key"],
                    "required": item.get("required", False),
                    "allow_na": item.get("allow_na", False),
                }
            )
    return rows


def text(translations: Mapping[str, str] | None, language: str) -> str:
    """A text in ``language``, falling back to English, then to any language given."""
    if not translations:
        return ""
    return translations.get(language) or translations.get("en") or next(iter(translations.values()))


def canonical_json(definition: Mapping[str, Any]) -> str:
    """The canonical JSON of a definition (sorted keys, no spaces, UTF-8 text kept)."""
    return json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def definition_checksum(definition: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON: equal definitions have equal checksums."""
    return hashlib.sha256(canonical_json(definition).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- internals


def _no_unknown_fields(obj: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(str(k) for k in obj if k not in allowed)
    if unknown:
        raise DefinitionError(
            f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


def _key(value: Any, what: str) -> str:
    if isinstance(value, bool):
        raise DefinitionError(
            f"{what} must be text of a-z, 0-9 and _, got the YAML boolean {value!r} "
            "(quote words such as 'yes', 'no', 'on', 'off' in YAML)"
        )
    if not isinstance(value, str) or not KEY_PATTERN.match(value):
        raise DefinitionError(f"{what} must be 1–64 characters of a-z, 0-9 and _, got {value!r}")
    return value


def _translations(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise DefinitionError(
            f"{where}: expected a text in each of {', '.join(LANGUAGES)}, got {value!r}"
        )
    unknown = sorted(str(k) for k in value if k not in LANGUAGES)
    if unknown:
        raise DefinitionError(
            f"{where}: unknown language(s) {', '.join(unknown)}; use {', '.join(LANGUAGES)}"
        )
    missing = [
        lang
        for lang in LANGUAGES
        if not isinstance(value.get(lang), str) or not value[lang].strip()
    ]
    if missing:
        raise DefinitionError(f"{where}: missing translation in {', '.join(missing)}")
    return {lang: value[lang].strip() for lang in LANGUAGES}


def _int(value: Any, where: str, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
        raise DefinitionError(f"{where}: {field} must be an integer, got {value!r}")
    return value


def _scale(name: str, scale: Any) -> dict[str, Any]:
    where = f"scale '{name}'"
    if not isinstance(scale, Mapping):
        raise DefinitionError(f"{where}: must be a mapping with min, max and labels")
    _no_unknown_fields(scale, _SCALE_FIELDS, where)
    low = _int(scale.get("min"), where, "min")
    high = _int(scale.get("max"), where, "max")
    if low >= high:
        raise DefinitionError(f"{where}: min ({low}) must be less than max ({high})")
    labels = scale.get("labels") or {}
    if not isinstance(labels, Mapping):
        raise DefinitionError(f"{where}: labels must map scale points to texts")
    normalised: dict[str, dict[str, str]] = {}
    for point, label in labels.items():
        number = _int(point, where, f"label point {point!r}")
        if not low <= number <= high:
            raise DefinitionError(
                f"{where}: label point {number} is outside the scale {low}..{high}"
            )
        if str(number) in normalised:
            raise DefinitionError(f"{where}: point {number} is labelled twice")
        normalised[str(number)] = _translations(label, f"{where}, label {number}")
    ordered = dict(sorted(normalised.items(), key=lambda kv: int(kv[0])))
    return {"min": low, "max": high, "labels": ordered}


def _item(
    item: Any,
    position: int,
    section: str,
    domains: Mapping[str, Any],
    scales: Mapping[str, Any],
) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise DefinitionError(f"section '{section}', item {position}: must be a mapping")
    key = _key(item.get("key"), f"section '{section}', item {position}: key")
    where = f"item '{key}' (section '{section}')"
    _no_unknown_fields(item, _ITEM_FIELDS, where)
    kind = item.get("type")
    if kind not in ITEM_TYPES:
        raise DefinitionError(
            f"{where}: unknown type {kind!r}; expected one of {', '.join(ITEM_TYPES)}"
        )
    result: dict[str, Any] = {"key": key, "type": kind}
    for flag in ("required", "allow_na"):
        value = item.get(flag, False)
        if not isinstance(value, bool):
            raise DefinitionError(f"{where}: {flag} must be true or false, got {value!r}")
        result[flag] = value
    if result["allow_na"] and kind not in NUMERIC_TYPES:
        raise DefinitionError(f"{where}: allow_na is offered on likert and nps items only")
    result["text"] = _translations(item.get("text"), f"{where}: text")
    if item.get("help") is not None:
        result["help"] = _translations(item["help"], f"{where}: help")

    if kind in NUMERIC_TYPES:
        _numeric(item, key, kind, where, domains, scales, result)
    else:
        for field in ("scale", "domain"):
            if item.get(field) is not None:
                raise DefinitionError(
                    f"{where}: {field} is for likert and nps items only, not {kind}"
                )
        if key in RESERVED_DOMAINS:
            expected, low, high = RESERVED_DOMAINS[key]
            raise DefinitionError(
                f"{where}: the reserved item '{key}' must be a {expected} item on a "
                f"{low}..{high} scale, not {kind}"
            )
    _date_rules(item, kind, where, result)
    if kind in CHOICE_TYPES:
        result["options"] = _options(item.get("options"), where)
    elif item.get("options") is not None:
        raise DefinitionError(f"{where}: options are for single_choice and multiple_choice only")
    return result


def _date_rules(item: Mapping[str, Any], kind: str, where: str, result: dict[str, Any]) -> None:
    """``not_in_future`` (a flag) and ``not_before`` (an earlier date item), dates only.

    Stored only when given, so definitions without them keep their checksum.
    """
    for rule in ("not_in_future", "not_before"):
        if item.get(rule) is not None and kind != "date":
            raise DefinitionError(f"{where}: {rule} is for date items only, not {kind}")
    if item.get("not_in_future") is not None:
        if not isinstance(item["not_in_future"], bool):
            raise DefinitionError(
                f"{where}: not_in_future must be true or false, got {item['not_in_future']!r}"
            )
        result["not_in_future"] = item["not_in_future"]
    if item.get("not_before") is not None:
        result["not_before"] = _key(item["not_before"], f"{where}: not_before")


def _check_not_before(item: dict[str, Any], earlier: list[dict[str, Any]], where: str) -> None:
    """``not_before`` names a date item shown before this one in the same section."""
    other = item.get("not_before")
    if other is None:
        return
    found = next((e for e in earlier if e["key"] == other), None)
    if found is None or found["type"] != "date":
        raise DefinitionError(
            f"item '{item['key']}' ({where}): not_before must name a date item that comes "
            f"earlier in the same section, got {other!r}"
        )


def _numeric(
    item: Mapping[str, Any],
    key: str,
    kind: str,
    where: str,
    domains: Mapping[str, Any],
    scales: Mapping[str, Any],
    result: dict[str, Any],
) -> None:
    scale_name = item.get("scale")
    if scale_name is None:
        raise DefinitionError(f"{where}: a {kind} item needs a scale")
    if scale_name not in scales:
        known = ", ".join(sorted(scales)) or "none defined"
        raise DefinitionError(f"{where}: unknown scale {scale_name!r} (scales: {known})")
    scale = scales[scale_name]
    domain = item.get("domain")
    if domain is None:
        raise DefinitionError(f"{where}: a {kind} item needs a domain")
    if domain not in domains and domain not in RESERVED_DOMAINS:
        known = ", ".join(sorted([*domains, *RESERVED_DOMAINS]))
        raise DefinitionError(f"{where}: unknown domain {domain!r} (domains: {known})")
    low, high = scale["min"], scale["max"]
    if kind == "nps" and (low, high) != NPS_RANGE:
        raise DefinitionError(
            f"{where}: an nps item needs a 0..10 scale; scale '{scale_name}' is {low}..{high}"
        )
    for reserved in {key, domain} & set(RESERVED_DOMAINS):
        expected, rlow, rhigh = RESERVED_DOMAINS[reserved]
        if kind != expected or (low, high) != (rlow, rhigh):
            raise DefinitionError(
                f"{where}: '{reserved}' must be a {expected} item on a {rlow}..{rhigh} scale "
                f"with domain '{reserved}', got a {kind} item on {low}..{high}"
            )
        if key in RESERVED_DOMAINS and domain != key:
            raise DefinitionError(
                f"{where}: the reserved item '{key}' must have domain '{key}', got '{domain}'"
            )
    if kind == "likert":
        missing = [p for p in range(low, high + 1) if str(p) not in scale["labels"]]
        if missing:
            raise DefinitionError(
                f"{where}: likert scale '{scale_name}' must label every point; "
                f"no label for {', '.join(map(str, missing))}"
            )
    result["scale"] = scale_name
    result["domain"] = domain


def _options(options: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(options, list) or len(options) < 2:
        raise DefinitionError(f"{where}: a choice item needs at least two options")
    seen: set[str] = set()
    result = []
    for index, option in enumerate(options, start=1):
        if not isinstance(option, Mapping):
            raise DefinitionError(f"{where}: option {index} must be a mapping with key and label")
        _no_unknown_fields(option, _OPTION_FIELDS, f"{where}, option {index}")
        okey = _key(option.get("key"), f"{where}: option {index} key")
        if okey in seen:
            raise DefinitionError(f"{where}: duplicate option key '{okey}'")
        seen.add(okey)
        result.append(
            {"key": okey, "label": _translations(option.get("label"), f"{where}, option '{okey}'")}
        )
    return result
