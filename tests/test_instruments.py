"""Instrument loading and validation (feedback360.instruments): no Flask app, no database."""

from __future__ import annotations

import ast
import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from feedback360.instruments import (
    Instrument,
    InstrumentError,
    ValidityRule,
    from_definition,
    load_directory,
    load_instrument,
    parse_instrument,
    summarise,
)

# No app and no database: run once, not again on PostgreSQL (Makefile).
pytestmark = pytest.mark.database_independent

ROOT = Path(__file__).resolve().parent.parent
INSTRUMENTS = ROOT / "instruments"
CLCF_FILE = INSTRUMENTS / "clcf.yaml"
ENHANCED_FILE = INSTRUMENTS / "clcf-enhanced.yaml"

# DESIGN.md, "Instruments": the CLCF's domains and elements, in order.
CLCF_NAMES = {
    "Demonstrating personal qualities": [
        "Developing self-awareness", "Managing yourself", "Continuing personal development",
        "Acting with integrity"],
    "Working with others": [
        "Developing networks", "Building and maintaining relationships",
        "Encouraging contribution", "Working within teams"],
    "Managing services": [
        "Planning", "Managing resources", "Managing people", "Managing performance"],
    "Improving services": [
        "Ensuring patient safety", "Critically evaluating",
        "Encouraging improvement and innovation", "Facilitating transformation"],
    "Setting direction": [
        "Identifying the contexts for change", "Applying knowledge and evidence",
        "Making decisions", "Evaluating impact"],
}


@pytest.fixture(scope="module")
def clcf() -> Instrument:
    return load_instrument(CLCF_FILE)


@pytest.fixture(scope="module")
def enhanced() -> Instrument:
    return load_instrument(ENHANCED_FILE)


def clcf_data() -> dict[str, Any]:
    return yaml.safe_load(CLCF_FILE.read_text(encoding="utf-8"))


def write(directory: Path, name: str, data: Any) -> Path:
    path = directory / name
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


# --- the shipped instruments --------------------------------------------------------------------

def test_load_directory_finds_both_shipped_instruments() -> None:
    instruments = load_directory(INSTRUMENTS)
    assert set(instruments) == {"clcf", "clcf-enhanced"}
    assert all(i.version == 2 and len(i.sha256) == 64 for i in instruments.values())


def test_clcf_has_the_five_domains_and_twenty_elements_of_the_framework(clcf: Instrument) -> None:
    assert clcf.key == "clcf"
    assert clcf.title == "Clinical Leadership Competency Framework 360"
    assert clcf.description and "ten minutes" in clcf.description
    assert {d.title: [e.title for e in d.elements] for d in clcf.domains} == CLCF_NAMES
    assert [d.title for d in clcf.domains] == list(CLCF_NAMES)


@pytest.mark.parametrize("path", [CLCF_FILE, ENHANCED_FILE], ids=lambda p: p.name)
def test_items_two_per_element_unique_keys_one_short_statement_each(path: Path) -> None:
    instrument = load_instrument(path)
    assert all(len(element.items) == 2 for element in instrument.elements)
    assert len(set(instrument.item_keys)) == len(instrument.item_keys) == 2 * len(
        instrument.elements)
    for item in instrument.items:
        assert item.text.endswith(".") and "?" not in item.text, item.key
        assert len(item.text) <= 120, item.key  # the survey takes about ten minutes


def test_item_keys_name_their_domain_and_element(clcf: Instrument) -> None:
    assert clcf.item_keys[:3] == ("pq-sa-1", "pq-sa-2", "pq-my-1")
    for item in clcf.items:
        domain, element = clcf.domain_of_item(item.key), clcf.element_of_item(item.key)
        assert item in element.items and element in domain.elements
        prefix = item.key.rsplit("-", 1)[0]
        assert all(other.key.startswith(prefix) for other in element.items)
    assert clcf.domain_of_item("is-ps-1").key == "improving-services"
    assert clcf.element_of_item("is-ps-1").title == "Ensuring patient safety"
    assert clcf.item("sd-md-2").key == "sd-md-2"
    with pytest.raises(KeyError):
        clcf.domain_of_item("no-such-item")


def test_enhanced_adds_clinical_and_scientific_expertise_to_everything_in_clcf(
        clcf: Instrument, enhanced: Instrument) -> None:
    assert enhanced.key == "clcf-enhanced"
    assert len(enhanced.domains) == 6
    assert enhanced.domains[:5] == clcf.domains
    assert set(clcf.item_keys) < set(enhanced.item_keys)
    extra = enhanced.domains[5]
    assert (extra.key, extra.title) == ("clinical-scientific-expertise",
                                        "Demonstrating clinical and scientific expertise")
    assert len(extra.elements) == 4 and len(extra.items) == 8
    for name in ("scale", "rater_groups", "comments", "validity"):
        assert getattr(enhanced, name) == getattr(clcf, name), name


def test_rater_groups(clcf: Instrument) -> None:
    assert clcf.group_keys == (
        "supervisor", "senior", "peer", "nursing", "ahp", "management", "other")
    supervisor = clcf.group("supervisor")
    assert (supervisor.anonymous, supervisor.senior) == (False, True)
    assert "training officer" in supervisor.label
    assert clcf.group("senior").label == "Consultant or senior scientist"
    assert clcf.senior_group_keys == ("supervisor", "senior")
    assert all(g.anonymous and not g.senior for g in clcf.rater_groups[2:])
    with pytest.raises(KeyError):
        clcf.group("patient")


def test_scale_and_comments(clcf: Instrument) -> None:
    scale = clcf.scale
    assert (scale.min, scale.max, scale.points) == (1, 5, (1, 2, 3, 4, 5))
    assert sorted(scale.labels) == [1, 2, 3, 4, 5]
    assert scale.not_observed == "Not observed / unable to comment"
    assert [c.key for c in clcf.comments] == ["strengths", "development"]
    assert clcf.comments[0].prompt == (
        "What does this trainee do well as a leader? Please give examples.")


def test_validity_rule_and_its_plain_english(clcf: Instrument) -> None:
    assert clcf.validity == ValidityRule(min_responses=10, min_senior=2, min_rated_fraction=0.5)
    assert clcf.validity.describe() == (
        "At least 10 colleagues must respond, including at least 2 senior colleagues "
        "(consultants, senior scientists or supervisors). A response counts only if at least "
        "half of its statements are rated.")


@pytest.mark.parametrize(("rule", "expected"), [
    (ValidityRule(1, 0, 1.0),
     "At least 1 colleague must respond. A response counts only if all of its statements are "
     "rated."),
    (ValidityRule(6, 1, 0.6),
     "At least 6 colleagues must respond, including at least 1 senior colleague (consultants, "
     "senior scientists or supervisors). A response counts only if at least 60% of its "
     "statements are rated."),
])
def test_validity_describe_variants(rule: ValidityRule, expected: str) -> None:
    assert rule.describe() == expected


def test_summarise_names_the_counts_groups_and_rule(clcf: Instrument) -> None:
    summary = summarise(clcf)
    assert summary.splitlines()[0] == "clcf v2: Clinical Leadership Competency Framework 360"
    assert "5 domains, 20 elements, 40 items, 2 comment prompts" in summary
    assert "supervisor (named) (senior)" in summary
    assert clcf.validity.describe() in summary
    assert clcf.sha256 in summary


# --- identity: sha256 and the stored definition -------------------------------------------------

def test_sha256_ignores_comments_and_layout(tmp_path: Path, clcf: Instrument) -> None:
    text = CLCF_FILE.read_text(encoding="utf-8")
    commented = write(tmp_path, "commented.yaml", "# a new comment\n\n" + text.replace(
        "version: 2\n", "version: 2   # still two\n"))
    flow = write(tmp_path, "flow.yaml", yaml.safe_dump(clcf_data(), default_flow_style=True,
                                                       sort_keys=True, width=60))
    defaults = clcf_data()
    defaults["rater_groups"][1]["anonymous"] = True  # spelling out a default is not a change
    spelled = write(tmp_path, "spelled.yaml", defaults)
    for path in (commented, flow, spelled):
        assert load_instrument(path).sha256 == clcf.sha256, path.name


@pytest.mark.parametrize("change", [
    lambda d: d["domains"][0]["elements"][0]["items"][0].update(text="Asks for feedback."),
    lambda d: d["scale"]["labels"].update({3: "Sometimes"}),
    lambda d: d.update(version=3),
    lambda d: d["domains"][0]["elements"][0]["items"][0].update(self_text="I ask for feedback."),
    lambda d: d["validity"].update(min_responses=8),
    lambda d: d["rater_groups"].reverse(),
], ids=["item-text", "scale-label", "version", "self-text", "validity", "group-order"])
def test_sha256_changes_with_any_content_change(
        tmp_path: Path, clcf: Instrument, change: Callable[[dict[str, Any]], None]) -> None:
    data = clcf_data()
    change(data)
    assert load_instrument(write(tmp_path, "clcf.yaml", data)).sha256 != clcf.sha256


@pytest.mark.parametrize("path", [CLCF_FILE, ENHANCED_FILE], ids=lambda p: p.name)
def test_the_self_assessment_is_worded_in_the_first_person(path: Path) -> None:
    instrument = load_instrument(path)
    own = instrument.for_self
    assert own.item_keys == instrument.item_keys and own.perspective == "self"
    assert own.scale.points == instrument.scale.points
    assert own.scale.not_observed == "Not had the chance to do this yet"
    for item, mine in zip(instrument.items, own.items, strict=True):
        assert mine.text == item.self_text and mine.text != item.text
        assert mine.text.startswith("I ") and mine.text.endswith("."), mine.text
        assert len(mine.text) <= 120, item.key
        for third_person in ("their own", "they have", "they disagree", "themself", "trainee"):
            assert third_person not in mine.text, mine.text
    for domain in own.domains:
        assert domain.description.startswith("How I "), domain.description
    assert instrument.to_definition() == from_definition(instrument.to_definition()).\
        to_definition()  # the first-person wording is part of the stored snapshot


def test_a_snapshot_stored_before_self_wording_keeps_its_sha_and_falls_back() -> None:
    data = clcf_data()
    data.update(version=1)
    data["scale"].pop("self_not_observed")
    for domain in data["domains"]:
        domain.pop("self_description")
        for element in domain["elements"]:
            for item in element["items"]:
                item.pop("self_text")
    old = from_definition(data)
    definition = old.to_definition()
    assert "self_text" not in json.dumps(definition)  # as it was stored, byte for byte
    assert from_definition(definition).sha256 == old.sha256
    assert old.for_self.items[0].text == "Asks colleagues for feedback on their own practice."
    assert old.for_self.scale.not_observed == "Not observed / unable to comment"


@pytest.mark.parametrize("path", [CLCF_FILE, ENHANCED_FILE], ids=lambda p: p.name)
def test_definition_round_trips_through_json(path: Path) -> None:
    instrument = load_instrument(path)
    definition = instrument.to_definition()
    stored = json.loads(json.dumps(definition))
    assert stored == definition
    again = from_definition(stored, source="instrument_versions[1]")
    assert again == instrument
    assert again.sha256 == instrument.sha256
    assert again.source == "instrument_versions[1]"
    assert again.to_definition() == definition
    assert hash(again) == hash(instrument)  # usable as a cache key
    assert parse_instrument(definition, "x").scale.labels == instrument.scale.labels


def test_module_imports_neither_flask_nor_the_database_at_top_level() -> None:
    imported: set[str] = set()
    for module in (ROOT / "feedback360" / "instruments").glob("*.py"):
        for node in ast.parse(module.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                imported.add(("." * node.level) + (node.module or ""))
    assert not {name for name in imported
                if name.split(".")[0] in {"flask", "flask_sqlalchemy", "sqlalchemy"}
                or name in {"..models", "..extensions"}}


# --- errors name the file and the path inside it ------------------------------------------------

def _item(d: dict[str, Any], i: int, j: int, k: int) -> dict[str, Any]:
    return d["domains"][i]["elements"][j]["items"][k]


BROKEN: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    ("missing-item-text", lambda d: _item(d, 2, 1, 0).pop("text"),
     "domains[2].elements[1].items[0]: missing 'text'"),
    ("missing-top-level", lambda d: d.pop("title"), "missing 'title'"),
    ("missing-self-text", lambda d: _item(d, 3, 2, 1).pop("self_text"),
     "domains[3].elements[2].items[1]: item 'is-ii-2' is missing 'self_text' (the statement in "
     "the first person, for the self-assessment)"),
    ("missing-self-description", lambda d: d["domains"][4].pop("self_description"),
     "domains[4]: missing 'self_description' (the description in the first person, for the "
     "self-assessment)"),
    ("missing-self-not-observed", lambda d: d["scale"].pop("self_not_observed"),
     "scale: missing 'self_not_observed' (the choice the trainee is offered instead of 'not "
     "observed' in their self-assessment)"),
    ("unknown-key", lambda d: d["domains"][0].update(colour="blue"),
     "domains[0]: unknown key 'colour' (expected one of: key, title, description, "
     "self_description, elements)"),
    ("unknown-top-level-key", lambda d: d.update(author="me"),
     "unknown key 'author' (expected one of: key, version, title, description, scale, "
     "rater_groups, domains, comments, validity)"),
    ("duplicate-item-key", lambda d: _item(d, 1, 0, 1).update(key="pq-sa-1"),
     "domains[1].elements[0].items[1].key: duplicate item key 'pq-sa-1' "
     "(first used at domains[0].elements[0].items[0])"),
    ("duplicate-element-key", lambda d: d["domains"][4]["elements"][3].update(key="planning"),
     "domains[4].elements[3].key: duplicate element key 'planning' "
     "(first used at domains[2].elements[0])"),
    ("duplicate-domain-key", lambda d: d["domains"][1].update(key="personal-qualities"),
     "domains[1].key: duplicate domain key 'personal-qualities' (first used at domains[0])"),
    ("duplicate-group-key", lambda d: d["rater_groups"][6].update(key="peer"),
     "rater_groups[6].key: duplicate rater group key 'peer' (first used at rater_groups[2])"),
    ("duplicate-comment-key", lambda d: d["comments"][1].update(key="strengths"),
     "comments[1].key: duplicate comment key 'strengths' (first used at comments[0])"),
    ("bad-key-pattern", lambda d: d["domains"][0].update(key="Personal_Qualities"),
     "domains[0].key: 'Personal_Qualities' must use only lower-case letters, digits and hyphens"),
    ("bad-item-key-pattern", lambda d: _item(d, 0, 0, 0).update(key="pq sa 1"),
     "domains[0].elements[0].items[0].key: 'pq sa 1' must use only lower-case letters, digits "
     "and hyphens"),
    ("empty-title", lambda d: d["domains"][3].update(title="  "),
     "domains[3].title: must not be empty"),
    ("empty-label", lambda d: d["rater_groups"][0].update(label=None),
     "rater_groups[0].label: must not be empty"),
    ("empty-item-list", lambda d: d["domains"][0]["elements"][0].update(items=[]),
     "domains[0].elements[0].items: must not be empty"),
    ("wrong-type-version", lambda d: d.update(version="one"),
     "version: must be a whole number, got the text 'one'"),
    ("bool-is-not-a-number", lambda d: d.update(version=True),
     "version: must be a whole number, got true"),
    ("version-zero", lambda d: d.update(version=0), "version: must be at least 1, got 0"),
    ("wrong-type-anonymous", lambda d: d["rater_groups"][1].update(anonymous="no"),
     "rater_groups[1].anonymous: must be true or false, got the text 'no'"),
    ("item-not-a-mapping", lambda d: d["domains"][0]["elements"][1]["items"].append("Listens."),
     "domains[0].elements[1].items[2]: expected a mapping of keys to values, got the text "
     "'Listens.'"),
    ("domains-not-a-list", lambda d: d.update(domains={"a": 1}),
     "domains: must be a list, got a mapping"),
    ("label-outside-scale", lambda d: d["scale"]["labels"].update({7: "Always"}),
     "scale.labels.7: 7 is outside the scale 1..5"),
    ("label-not-a-point", lambda d: d["scale"]["labels"].update({"high": "Always"}),
     "scale.labels: 'high' is not a scale point (a whole number)"),
    ("end-point-unlabelled", lambda d: d["scale"]["labels"].pop(5),
     "scale.labels: the end point 5 must be labelled"),
    ("min-not-below-max", lambda d: d["scale"].update(min=5, max=5),
     "scale: min (5) must be less than max (5)"),
    ("scale-beyond-storage", lambda d: d["scale"].update(max=12),
     "scale: min and max must lie between 0 and 10, got 1 and 12"),
    ("more-senior-than-responses", lambda d: d["validity"].update(min_responses=3, min_senior=4),
     "validity.min_senior: 4 senior responses cannot be required out of 3"),
    ("no-responses", lambda d: d["validity"].update(min_responses=0),
     "validity.min_responses: must be at least 1, got 0"),
    ("fraction-above-one", lambda d: d["validity"].update(min_rated_fraction=1.5),
     "validity.min_rated_fraction: must be more than 0 and at most 1, got 1.5"),
    ("no-senior-group", lambda d: [g.pop("senior", None) for g in d["rater_groups"]],
     "validity.min_senior: requires 2 senior responses but no rater group is marked "
     "'senior: true'"),
    ("missing-validity", lambda d: d.pop("validity"), "missing 'validity'"),
]


@pytest.mark.parametrize(("mutate", "expected"), [case[1:] for case in BROKEN],
                         ids=[case[0] for case in BROKEN])
def test_broken_file_names_file_and_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        mutate: Callable[[dict[str, Any]], Any], expected: str) -> None:
    monkeypatch.chdir(tmp_path)
    data = copy.deepcopy(clcf_data())
    mutate(data)
    write(tmp_path, "clcf.yaml", data)
    with pytest.raises(InstrumentError) as caught:
        load_instrument("clcf.yaml")
    assert str(caught.value) == f"clcf.yaml: {expected}"
    assert caught.value.source == "clcf.yaml"


def test_the_documented_example_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    data = clcf_data()
    del data["domains"][2]["elements"][1]["items"][0]["text"]
    path = write(tmp_path, "clcf.yaml", data)
    with pytest.raises(InstrumentError) as caught:
        load_instrument(path)  # an absolute path inside the working directory is shown relative
    assert str(caught.value) == "clcf.yaml: domains[2].elements[1].items[0]: missing 'text'"
    assert (caught.value.path, caught.value.problem) == (
        "domains[2].elements[1].items[0]", "missing 'text'")


RAW_BROKEN = [
    ("duplicate-yaml-key", "key: clcf\nversion: 1\ntitle: A\ntitle: B\n",
     "line 4, column 1: duplicate key 'title' (first given at line 3)"),
    ("duplicate-nested-yaml-key", "scale: {min: 1, max: 5, min: 0}\n",
     "line 1, column 25: duplicate key 'min' (first given at line 1)"),
    ("duplicate-label", "scale:\n  labels:\n    1: Rarely\n    1: Never\n",
     "line 4, column 5: duplicate key 1 (first given at line 3)"),
    ("syntax-error", "key: clcf\ntitle: [unclosed\n",
     "line 3, column 1: not valid YAML: expected ',' or ']', but got '<stream end>'"),
    ("bad-indentation", "key: clcf\n  version: 1\n",
     "line 2, column 10: not valid YAML: mapping values are not allowed here"),
    ("top-level-list", "- key: clcf\n",
     "the top level must be a mapping of keys to values, got a list"),
    ("top-level-text", "just some words\n",
     "the top level must be a mapping of keys to values, got the text 'just some words'"),
    ("empty-file", "# nothing here\n", "the file is empty"),
]


@pytest.mark.parametrize(("text", "expected"), [case[1:] for case in RAW_BROKEN],
                         ids=[case[0] for case in RAW_BROKEN])
def test_broken_yaml_names_file_and_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: str) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "clcf.yaml", text)
    with pytest.raises(InstrumentError) as caught:
        load_instrument("clcf.yaml")
    assert str(caught.value) == f"clcf.yaml: {expected}"


def test_yaml_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    text = CLCF_FILE.read_text(encoding="utf-8").replace(
        "  - key: senior\n", "  - &senior\n    key: senior\n").replace(
        "  - key: peer\n", "  - <<: *senior\n    key: peer\n    senior: false\n")
    assert load_instrument(write(tmp_path, "merged.yaml", text)).group("peer").label == (
        "Fellow trainee")


def test_load_directory_rejects_two_files_with_one_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "instruments").mkdir()
    write(tmp_path / "instruments", "a.yaml", clcf_data())
    write(tmp_path / "instruments", "b.yaml", clcf_data())
    write(tmp_path / "instruments", "notes.txt", "not an instrument")
    with pytest.raises(InstrumentError) as caught:
        load_directory("instruments")
    assert str(caught.value) == ("instruments/b.yaml: key: duplicate instrument key 'clcf' "
                                 "(also used by instruments/a.yaml)")


def test_load_directory_and_file_that_do_not_exist(tmp_path: Path) -> None:
    with pytest.raises(InstrumentError, match="no such directory"):
        load_directory(tmp_path / "missing")
    with pytest.raises(InstrumentError, match="cannot read the file"):
        load_instrument(tmp_path / "missing.yaml")
