"""Affordances in the cohort report (issue 14, point 3): the queries, and the audited figures.

For the trainees now in a cohort: each one's most recent affordances answer and the placement it
is about (site, department, specialty); each one's latest placement and the activities logged in
it; and each one's most recent pair of consecutive scored (closed or released, enough responses)
360 cycles with an affordances answer about the placement between them. Narrow Core queries,
no ORM rows; shaped by ``scoring.affordance_frames``, the numbers are ``scoring.affordances``
and ``scoring.affordance_change``. A
trainee's own answers never leave this module except as audited aggregates. Flushes nothing.

Items and the scale are read from the questionnaire snapshots the answers point at (the newest
version's wording for a key), so the report follows whatever versions trainees answered.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from flask import current_app

from ..extensions import db
from ..instruments import Instrument
from ..models import (
    Activity,
    AffordanceAnswer,
    AffordanceResponse,
    CycleScore,
    CycleSummary,
    FeedbackCycle,
    InstrumentVersion,
    Organisation,
    Placement,
    Site,
    User,
)
from ..scoring.affordance_change import ChangeFigures, build_change
from ..scoring.affordance_frames import activities_in, pairs_between
from ..scoring.affordances import AffordanceFigures, Item, Scale, build_figures
from .cohort_basis import ID_CHUNK, REPORTED, find_cohort, frame_of

DEFAULT_SCALE = Scale(1, 5)
KEPT = 16
_kept: OrderedDict[tuple[Any, ...], AffordanceSection] = OrderedDict()
_kept_lock = threading.Lock()


@dataclass(frozen=True)
class AffordanceSection:
    """What the cohort report shows about affordances; None parts have nothing to show."""

    figures: AffordanceFigures | None
    change: ChangeFigures | None

    @property
    def has_answers(self) -> bool:
        return self.figures is not None


def affordance_section(cohort_id: int, instrument: Instrument | None) -> AffordanceSection:
    """The cohort's affordance figures (NotFound for an unknown cohort). ``instrument``: the
    cohort report's 360 instrument, whose domains the change in scores is given for. Audited
    once per state of what it is built from, and kept in this process."""
    find_cohort(cohort_id)
    min_trainees = int(current_app.config.get("COHORT_MIN_TRAINEES", 5))
    trainees = [int(t) for t in db.session.scalars(db.select(User.id).where(
        User.cohort_id == cohort_id, User.role == "trainee").order_by(User.id))]
    placements = _placements(trainees)
    responses = _latest_responses(trainees)
    answers = _answers([int(r) for r in responses["response_id"]])
    activities = _activities(trainees)
    cycles = _scored_cycles(trainees, instrument)
    domains = tuple((d.key, d.title) for d in instrument.domains) if instrument else ()
    key = (current_app.config["SQLALCHEMY_DATABASE_URI"], cohort_id, min_trainees, domains,
           _fingerprint(placements, responses, answers, activities, cycles))
    with _kept_lock:
        if key in _kept:
            _kept.move_to_end(key)
            return _kept[key]
    made = _build(placements, responses, answers, activities, cycles, domains, min_trainees)
    with _kept_lock:
        _kept[key] = made
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    return made


def _fingerprint(*frames: pd.DataFrame) -> str:
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(repr(list(frame.columns)).encode())
        digest.update(pd.util.hash_pandas_object(frame.astype(str), index=False)
                      .to_numpy().tobytes())
        digest.update(b"|")
    return digest.hexdigest()


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), ID_CHUNK):
        yield ids[start:start + ID_CHUNK]


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        {c: [] for c in columns})


def _placements(trainees: list[int]) -> pd.DataFrame:
    columns = ["placement_id", "trainee_id", "site_id", "site_name", "organisation", "department",
               "specialty", "started_on", "ended_on"]
    return _concat([frame_of(
        db.select(Placement.id, Placement.trainee_id, Placement.site_id, Site.name,
                  Organisation.name, Placement.department, Placement.specialty,
                  Placement.started_on, Placement.ended_on)
        .join(Site, Site.id == Placement.site_id)
        .join(Organisation, Organisation.id == Site.organisation_id)
        .where(Placement.trainee_id.in_(chunk)), columns) for chunk in _chunks(trainees)],
        columns)


def _responses(trainees: list[int]) -> pd.DataFrame:
    columns = ["response_id", "trainee_id", "placement_id", "version_id", "submitted_at"]
    return _concat([frame_of(
        db.select(AffordanceResponse.id, AffordanceResponse.trainee_id,
                  AffordanceResponse.placement_id, AffordanceResponse.instrument_version_id,
                  AffordanceResponse.submitted_at)
        .where(AffordanceResponse.trainee_id.in_(chunk)), columns)
        for chunk in _chunks(trainees)], columns)


def _latest_responses(trainees: list[int]) -> pd.DataFrame:
    """Each trainee's most recent answer, and every trainee's latest answer about each of their
    placements (``latest_for_placement``), for the change in scores."""
    frame = _responses(trainees).sort_values(["trainee_id", "submitted_at", "response_id"])
    frame["latest"] = ~frame.duplicated("trainee_id", keep="last")
    frame["latest_for_placement"] = ~frame.duplicated(["trainee_id", "placement_id"],
                                                      keep="last")
    return frame[frame["latest_for_placement"]].reset_index(drop=True)


def _answers(response_ids: list[int]) -> pd.DataFrame:
    columns = ["response_id", "item", "score"]
    frame = _concat([frame_of(
        db.select(AffordanceAnswer.response_id, AffordanceAnswer.item_key, AffordanceAnswer.score)
        .where(AffordanceAnswer.response_id.in_(chunk)), columns)
        for chunk in _chunks(response_ids)], columns)
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce").astype(float)
    return frame


def _activities(trainees: list[int]) -> pd.DataFrame:
    """Activities (done and education), with the placement they were logged against if any."""
    columns = ["trainee_id", "placement_id", "started_on"]
    return _concat([frame_of(
        db.select(Activity.trainee_id, Activity.placement_id, Activity.started_on)
        .where(Activity.trainee_id.in_(chunk)), columns) for chunk in _chunks(trainees)],
        columns)


def _scored_cycles(trainees: list[int], instrument: Instrument | None) -> pd.DataFrame:
    """Closed or released cycles with enough responses, and their domain scores (colleagues'
    average) for the report instrument's domains, one column per domain."""
    domains = [d.key for d in instrument.domains] if instrument else []
    columns = ["cycle_id", "trainee_id", "closed_at", "domain", "others_mean"]
    if not domains:
        return pd.DataFrame({c: [] for c in ["cycle_id", "trainee_id", "closed_at"]})
    rows = _concat([frame_of(
        db.select(FeedbackCycle.id, FeedbackCycle.trainee_id, FeedbackCycle.closed_at,
                  CycleScore.key, CycleScore.others_mean)
        .join(CycleSummary, CycleSummary.cycle_id == FeedbackCycle.id)
        .join(CycleScore, CycleScore.cycle_id == FeedbackCycle.id)
        .where(FeedbackCycle.trainee_id.in_(chunk), FeedbackCycle.status.in_(REPORTED),
               CycleSummary.enough_responses.is_(True), CycleScore.level == "domain",
               CycleScore.key.in_(domains), CycleScore.others_mean.is_not(None)),
        columns) for chunk in _chunks(trainees)], columns)
    if not len(rows):
        return pd.DataFrame({c: [] for c in ["cycle_id", "trainee_id", "closed_at", *domains]})
    rows["others_mean"] = rows["others_mean"].astype(float)
    wide = rows.pivot_table(index=["cycle_id", "trainee_id", "closed_at"], columns="domain",
                            values="others_mean", aggfunc="first").reset_index()
    wide = wide.dropna(subset=[d for d in domains if d in wide.columns])
    if any(d not in wide.columns for d in domains):
        return pd.DataFrame({c: [] for c in ["cycle_id", "trainee_id", "closed_at", *domains]})
    return wide[["cycle_id", "trainee_id", "closed_at", *domains]]


def _questionnaire(version_ids: list[int]) -> tuple[tuple[Item, ...], Scale]:
    """The items (newest version's wording, in its order, then keys only older versions have)
    and the newest version's scale."""
    versions = db.session.execute(
        db.select(InstrumentVersion.id, InstrumentVersion.definition)
        .where(InstrumentVersion.id.in_(version_ids))
        .order_by(InstrumentVersion.version.desc(), InstrumentVersion.id.desc())).all()
    items: dict[str, Item] = {}
    scale = None
    for _, definition in versions:
        for item in _items_of(definition):
            items.setdefault(item.key, item)
        scale = scale or _scale_of(definition)
    return tuple(items.values()), scale or DEFAULT_SCALE


def short_title(key: str) -> str:
    """A table heading for an item with no title of its own: its key in words
    ("protected-time" is "Protected time")."""
    words = " ".join(key.replace("-", " ").replace("_", " ").split())
    return words[:1].upper() + words[1:]


def _items_of(node: Any) -> Iterator[Item]:
    """Every mapping with a ``key`` under an ``items`` list, in document order: its title (or
    label) if it has one, else its key in words, and its statement (``text``)."""
    if isinstance(node, Mapping):
        for name, value in node.items():
            if name in ("items", "questions") and isinstance(value, list):
                for item in value:
                    if isinstance(item, Mapping) and isinstance(item.get("key"), str):
                        title = next((item[w] for w in ("title", "label")
                                      if isinstance(item.get(w), str)), None)
                        text = item.get("text")
                        yield Item(item["key"], " ".join(title.split()) if title
                                   else short_title(item["key"]),
                                   " ".join(text.split()) if isinstance(text, str) else "")
            yield from _items_of(value)
    elif isinstance(node, list):
        for value in node:
            yield from _items_of(value)


def _scale_of(definition: Any) -> Scale | None:
    scale = definition.get("scale") if isinstance(definition, Mapping) else None
    if isinstance(scale, Mapping):
        low, high = scale.get("min"), scale.get("max")
        if isinstance(low, int) and isinstance(high, int) and low < high:
            return Scale(low, high)
    return None


def _build(placements: pd.DataFrame, responses: pd.DataFrame, answers: pd.DataFrame,
           activities: pd.DataFrame, cycles: pd.DataFrame, domains: tuple[tuple[str, str], ...],
           min_trainees: int) -> AffordanceSection:
    if not len(responses) and not len(placements):
        return AffordanceSection(None, None)
    items, scale = _questionnaire(sorted({int(v) for v in responses["version_id"]}))
    known = {item.key for item in items}
    extra = sorted(set(answers["item"]) - known)  # answered keys no snapshot names
    items = (*items, *(Item(k, short_title(k)) for k in extra))
    placed = _labelled(placements)
    latest = responses[responses["latest"]].merge(
        placed[["placement_id", "site", "unit", "specialty"]], on="placement_id")
    current = (placements.sort_values(["trainee_id", "started_on", "placement_id"])
               .drop_duplicates("trainee_id", keep="last"))
    current = current[["placement_id", "trainee_id"]].merge(
        placed[["placement_id", "site", "unit", "specialty"]], on="placement_id")
    current["activities"] = activities_in(current.merge(
        placements[["placement_id", "started_on", "ended_on"]], on="placement_id"), activities)
    figures = build_figures(
        latest[["trainee_id", "response_id", "site", "unit", "specialty"]], answers,
        current[["trainee_id", "site", "unit", "specialty", "activities"]], items, scale,
        _labels(placed), {row.unit: (row.site, row.department)
                          for row in placed.itertuples(index=False)}, min_trainees)
    pairs = pairs_between(placements, responses, answers, cycles, [key for key, _ in domains])
    change = build_change(pairs, domains, scale, min_trainees) if domains else None
    return AffordanceSection(figures, change)


def _labelled(placements: pd.DataFrame) -> pd.DataFrame:
    """Placements with their dimension keys: site (its id), unit (site and department), and
    specialty (as recorded)."""
    frame = placements.copy()
    frame["site"] = frame["site_id"].astype(int).astype(str)
    frame["unit"] = frame["site"] + ":" + frame["department"].astype(str)
    return frame


def _labels(placed: pd.DataFrame) -> dict[str, dict[str, str]]:
    """Each key's label; a site's names its organisation when another site has its name."""
    sites = placed.drop_duplicates("site_id")
    shared = set(sites.loc[sites["site_name"].duplicated(keep=False), "site_name"])
    site_labels = {row.site: row.site_name + (f" ({row.organisation})"
                                              if row.site_name in shared else "")
                   for row in sites.itertuples(index=False)}
    return {"site": site_labels,
            "unit": {row.unit: f"{row.department}, {site_labels[row.site]}"
                     for row in placed.drop_duplicates("unit").itertuples(index=False)}}
