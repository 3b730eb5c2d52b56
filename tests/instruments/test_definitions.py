"""The definition format: every broken rule is refused with a message naming the culprit."""

from __future__ import annotations

import copy
import re

import pytest

from surveys.instruments.definitions import (
    LANGUAGES,
    DefinitionError,
    definition_checksum,
    iter_items,
    numeric_items,
    validate_definition,
)
from surveys.instruments.services import builtin_definition_files, read_definition_file


def T(text: str) -> dict[str, str]:
    return {"uz": f"{text} (uz)", "ru": f"{text} (ru)", "en": text}


def minimal() -> dict:
    """A small valid definition that the cases below break one rule at a time."""
    return {
        "key": "mini",
        "kind": "custom",
        "title": T("Mini"),
        "domains": {"skills": T("Skills")},
        "scales": {
            "agree5": {"min": 1, "max": 5, "labels": {str(p): T(f"p{p}") for p in range(1, 6)}},
            "nps": {"min": 0, "max": 10, "labels": {"0": T("never"), "10": T("surely")}},
        },
        "sections": [
            {
                "key": "main",
                "title": T("Main"),
                "items": [
                    {
                        "key": "skill_a",
                        "type": "likert",
                        "scale": "agree5",
                        "domain": "skills",
                        "required": True,
                        "allow_na": True,
                        "text": T("Skill A"),
                    },
                    {
                        "key": "overall",
                        "type": "likert",
                        "scale": "agree5",
                        "domain": "overall",
                        "text": T("Overall"),
                    },
                    {
                        "key": "recommend",
                        "type": "nps",
                        "scale": "nps",
                        "domain": "recommend",
                        "text": T("Recommend"),
                    },
                    {
                        "key": "intent",
                        "type": "single_choice",
                        "text": T("Intent"),
                        "options": [
                            {"key": "keep", "label": T("Keep")},
                            {"key": "leave", "label": T("Leave")},
                        ],
                    },
                    {"key": "notes", "type": "long_text", "text": T("Notes")},
                ],
            }
        ],
    }


def item(data: dict, key: str) -> dict:
    return next(i for s in data["sections"] for i in s["items"] if i["key"] == key)


def test_minimal_definition_is_valid_and_normalised():
    data = minimal()
    result = validate_definition(data)
    notes = item(result, "notes")
    assert notes["required"] is False and notes["allow_na"] is False
    assert [i["key"] for i in iter_items(result)] == [
        "skill_a",
        "overall",
        "recommend",
        "intent",
        "notes",
    ]
    assert data == minimal(), "the input must not be modified"
    assert validate_definition(result) == result, "normalising is idempotent"


def test_numeric_items_carry_domain_and_scale_bounds():
    rows = numeric_items(validate_definition(minimal()))
    assert [(r["key"], r["domain"], r["scale_min"], r["scale_max"]) for r in rows] == [
        ("skill_a", "skills", 1, 5),
        ("overall", "overall", 1, 5),
        ("recommend", "recommend", 0, 10),
    ]


def test_label_keys_given_as_integers_are_normalised_to_text():
    data = minimal()
    data["scales"]["agree5"]["labels"] = {p: T(f"p{p}") for p in range(1, 6)}
    result = validate_definition(data)
    assert list(result["scales"]["agree5"]["labels"]) == ["1", "2", "3", "4", "5"]
    assert definition_checksum(result) == definition_checksum(validate_definition(minimal()))


def _break(change):
    data = minimal()
    change(data)
    return data


CASES = {
    "unknown item type": (
        lambda d: item(d, "notes").update(type="essay"),
        r"item 'notes' \(section 'main'\): unknown type 'essay'",
    ),
    "duplicate item key": (
        lambda d: d["sections"].append(
            {"key": "more", "title": T("More"), "items": [copy.deepcopy(item(d, "notes"))]}
        ),
        r"item 'notes' \(section 'more'\): duplicate key.*section 'main'",
    ),
    "duplicate section key": (
        lambda d: d["sections"].append(copy.deepcopy(d["sections"][0])),
        r"section 'main': duplicate key",
    ),
    "missing translation in an item": (
        lambda d: item(d, "skill_a")["text"].pop("ru"),
        r"item 'skill_a' \(section 'main'\): text: missing translation in ru",
    ),
    "empty translation": (
        lambda d: item(d, "skill_a")["text"].update(uz="  "),
        r"item 'skill_a'.*missing translation in uz",
    ),
    "missing translation of an option": (
        lambda d: item(d, "intent")["options"][1]["label"].pop("en"),
        r"item 'intent'.*option 'leave'.*missing translation in en",
    ),
    "missing translation of a scale label": (
        lambda d: d["scales"]["agree5"]["labels"]["3"].pop("uz"),
        r"scale 'agree5', label 3: missing translation in uz",
    ),
    "missing translation of the title": (
        lambda d: d.update(title={"en": "Mini"}),
        r"instrument 'mini': title: missing translation in uz, ru",
    ),
    "non-integer scale bound": (
        lambda d: d["scales"]["agree5"].update(max=4.5),
        r"scale 'agree5': max must be an integer, got 4.5",
    ),
    "min not below max": (
        lambda d: d["scales"]["agree5"].update(min=5, max=5),
        r"scale 'agree5': min \(5\) must be less than max \(5\)",
    ),
    "likert without scale": (
        lambda d: item(d, "skill_a").pop("scale"),
        r"item 'skill_a' \(section 'main'\): a likert item needs a scale",
    ),
    "likert with undefined scale": (
        lambda d: item(d, "skill_a").update(scale="agree7"),
        r"item 'skill_a'.*unknown scale 'agree7'",
    ),
    "likert without domain": (
        lambda d: item(d, "skill_a").pop("domain"),
        r"item 'skill_a' \(section 'main'\): a likert item needs a domain",
    ),
    "nps without domain": (
        lambda d: item(d, "recommend").pop("domain"),
        r"item 'recommend'.*an? nps item needs a domain",
    ),
    "undefined domain": (
        lambda d: item(d, "skill_a").update(domain="charisma"),
        r"item 'skill_a'.*unknown domain 'charisma'",
    ),
    "scale point labelled twice": (
        lambda d: d["scales"]["agree5"]["labels"].update({2: T("two again")}),
        r"scale 'agree5': point 2 is labelled twice",
    ),
    "label outside the scale": (
        lambda d: d["scales"]["agree5"]["labels"].update({"6": T("six")}),
        r"scale 'agree5': label point 6 is outside the scale 1\.\.5",
    ),
    "likert scale with an unlabelled point": (
        lambda d: d["scales"]["agree5"]["labels"].pop("4"),
        r"item 'skill_a'.*must label every point; no label for 4",
    ),
    "overall on a 0..10 scale": (
        lambda d: item(d, "overall").update(scale="nps"),
        r"item 'overall'.*'overall' must be a likert item on a 1\.\.5 scale",
    ),
    "overall as nps": (
        lambda d: item(d, "overall").update(type="nps", scale="nps"),
        r"item 'overall'.*'overall' must be a likert item on a 1\.\.5 scale",
    ),
    "overall as text": (
        lambda d: item(d, "overall").update(type="short_text", scale=None, domain=None),
        r"item 'overall'.*reserved item 'overall' must be a likert item",
    ),
    "overall in another domain": (
        lambda d: item(d, "overall").update(domain="skills"),
        r"item 'overall'.*must have domain 'overall'",
    ),
    "recommend as likert": (
        lambda d: item(d, "recommend").update(type="likert", scale="agree5"),
        r"item 'recommend'.*'recommend' must be a nps item on a 0\.\.10 scale",
    ),
    "nps on a 1..5 scale": (
        lambda d: item(d, "recommend").update(scale="agree5"),
        r"item 'recommend'.*nps item needs a 0\.\.10 scale",
    ),
    "choice with one option": (
        lambda d: item(d, "intent")["options"].pop(),
        r"item 'intent' \(section 'main'\): a choice item needs at least two options",
    ),
    "choice without options": (
        lambda d: item(d, "intent").pop("options"),
        r"item 'intent'.*at least two options",
    ),
    "duplicate option key": (
        lambda d: item(d, "intent")["options"][1].update(key="keep"),
        r"item 'intent'.*duplicate option key 'keep'",
    ),
    "YAML boolean as option key": (
        lambda d: item(d, "intent")["options"][0].update(key=True),
        r"item 'intent' \(section 'main'\): option 1 key.*YAML boolean.*quote",
    ),
    "bad item key": (
        lambda d: item(d, "notes").update(key="Notes!"),
        r"section 'main', item 5: key must be 1–64 characters of a-z, 0-9 and _",
    ),
    "unknown item field (typo)": (
        lambda d: item(d, "skill_a").update(allow_NA=True),
        r"item 'skill_a'.*unknown field\(s\) allow_NA",
    ),
    "unknown kind": (lambda d: d.update(kind="exam"), r"instrument 'mini': kind must be one of"),
    "no sections": (lambda d: d.update(sections=[]), r"sections must be a non-empty list"),
    "empty section": (
        lambda d: d["sections"][0].update(items=[]),
        r"section 'main': items must be a non-empty list",
    ),
    "domain on a text item": (
        lambda d: item(d, "notes").update(domain="skills"),
        r"item 'notes'.*domain is for likert and nps items only",
    ),
    "allow_na on a text item": (
        lambda d: item(d, "notes").update(allow_na=True),
        r"item 'notes'.*allow_na is offered on likert and nps items only",
    ),
    "required not a boolean": (
        lambda d: item(d, "notes").update(required="yes"),
        r"item 'notes'.*required must be true or false",
    ),
    "date rule on a text item": (
        lambda d: item(d, "notes").update(not_in_future=True),
        r"item 'notes'.*not_in_future is for date items only",
    ),
    "not_before naming no earlier date item": (
        lambda d: d["sections"][0]["items"].append(
            {"key": "until", "type": "date", "text": T("Until"), "not_before": "notes"}
        ),
        r"item 'until' \(section 'main'\): not_before must name a date item .* got 'notes'",
    ),
}


def test_date_rules_are_kept_only_where_given():
    data = minimal()
    data["sections"][0]["items"] += [
        {"key": "since", "type": "date", "text": T("Since"), "not_in_future": True},
        {"key": "until", "type": "date", "text": T("Until"), "not_before": "since"},
    ]
    result = validate_definition(data)
    assert item(result, "since") == item(data, "since") | {"required": False, "allow_na": False}
    assert item(result, "until")["not_before"] == "since"
    assert "not_before" not in item(result, "since") and "not_in_future" not in item(
        result, "until"
    )


@pytest.mark.parametrize("case", list(CASES))
def test_bad_definition_is_refused_naming_the_culprit(case):
    change, message = CASES[case]
    with pytest.raises(DefinitionError) as excinfo:
        validate_definition(_break(change))
    assert re.search(message, str(excinfo.value)), str(excinfo.value)


def test_non_mapping_is_refused():
    with pytest.raises(DefinitionError, match="must be a mapping"):
        validate_definition(["not", "a", "mapping"])  # type: ignore[arg-type]


# ------------------------------------------------------------------ built-in instruments


def _texts(obj, path=""):
    """Every translation mapping inside a definition, with where it is."""
    if isinstance(obj, dict):
        if set(obj) == set(LANGUAGES):
            yield path, obj
            return
        for key, value in obj.items():
            yield from _texts(value, f"{path}/{key}")
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            yield from _texts(value, f"{path}/{index}")


@pytest.fixture(scope="module")
def builtins() -> dict[str, dict]:
    return {
        p.stem: validate_definition(read_definition_file(p)) for p in builtin_definition_files()
    }


def test_three_builtin_instruments_are_valid(builtins):
    assert sorted(builtins) == ["attestation", "interview", "performance"]
    for key, definition in builtins.items():
        assert definition["key"] == key == definition["kind"]
        assert len(definition["sections"]) >= 3, "the form shows progress over several sections"


def test_every_builtin_text_is_in_three_languages_with_proper_uzbek_letters(builtins):
    for key, definition in builtins.items():
        texts = list(_texts(definition))
        assert len(texts) >= 40
        for where, translations in texts:
            assert all(translations[lang].strip() for lang in LANGUAGES), (key, where)
            uz = translations["uz"]
            # oʻ and gʻ use U+02BB, the tutuq belgisi U+02BC; never ASCII quotes or backticks
            assert not re.search(r"[ogOG]['`‘’]", uz), (key, where, uz)
            assert "'" not in uz and "`" not in uz, (key, where, uz)
            assert not re.search(r"[А-Яа-яЁё]", uz), (key, where, uz)
            assert re.search(r"[А-Яа-яЁё]", translations["ru"]), (key, where)
            assert translations["en"] != translations["ru"] != uz


def test_builtin_domains_have_two_or_more_items_and_reserved_items(builtins):
    domains = {
        "professional_knowledge",
        "practical_skills",
        "safety_culture",
        "communication_teamwork",
        "responsibility_discipline",
        "learning_adaptability",
        "digital_skills",
    }
    for key, definition in builtins.items():
        rows = numeric_items(definition)
        by_domain: dict[str, list[str]] = {}
        for row in rows:
            by_domain.setdefault(row["domain"], []).append(row["key"])
        assert set(by_domain) == domains | {"overall", "recommend"}, key
        for domain in domains:
            assert 2 <= len(by_domain[domain]) <= 3, (key, domain)
        assert by_domain["overall"] == ["overall"] and by_domain["recommend"] == ["recommend"]
        for row in rows:
            if row["domain"] in domains:
                assert (row["scale_min"], row["scale_max"]) == (1, 5)
                assert row["allow_na"] and row["required"], (key, row["key"])
        scales = definition["scales"]
        for row in rows:
            if row["type"] == "likert":
                assert len(scales[row["scale"]]["labels"]) == 5


def test_builtin_instrument_specific_items(builtins):
    types = {k: {i["key"]: i for i in iter_items(d)} for k, d in builtins.items()}
    attestation, interview, performance = (
        types["attestation"],
        types["interview"],
        types["performance"],
    )
    assert attestation["strengths"]["type"] == attestation["gaps"]["type"] == "long_text"
    assert not attestation["strengths"]["required"]
    assert interview["interview_date"]["type"] == "date"
    assert interview["interviewer_position"]["type"] == "short_text"
    assert interview["interviewer_notes"]["type"] == "long_text"
    assert all(
        i["text"]["en"].startswith("In the interview, the graduate")
        for i in interview.values()
        if i["type"] == "likert" and i["key"] != "overall"
    )
    assert performance["period_start"]["required"] and performance["period_end"]["required"]
    assert performance["period_start"]["type"] == "date"
    assert performance["main_tasks"]["type"] == "multiple_choice"
    assert len(performance["main_tasks"]["options"]) >= 5
    assert performance["tasks_other"]["type"] == "short_text"
    assert [o["key"] for o in performance["retention_intent"]["options"]] == [
        "retain_promote",
        "retain",
        "undecided",
        "not_retain",
    ]
