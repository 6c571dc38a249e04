"""Cohort reports: per-cycle narrow scores in, anonymity-safe cohort aggregates out.

Pure pandas/numpy (no Flask, no session). :func:`build_cohort_report` takes the frames the
service loads; :mod:`.disclosure` decides, once for the whole cohort and whatever filters are
asked for, which sets of trainees may be described (DESIGN.md, Anonymity rule 5).
"""

from .build import (
    UNRECORDED,
    CohortAnalysis,
    build_cohort_report,
    dimension_key,
    headings,
    scored_cycles,
)
from .disclosure import Disclosure
from .model import (
    DIMENSION_TITLES,
    DIMENSIONS,
    NOT_RECORDED,
    Breakdown,
    Cell,
    CohortReport,
    GroupParticipation,
    IntakePoint,
    Participation,
    Perception,
    ScoreRow,
    Selection,
    Stats,
)

__all__ = [
    "DIMENSIONS",
    "DIMENSION_TITLES",
    "NOT_RECORDED",
    "UNRECORDED",
    "Breakdown",
    "Cell",
    "CohortAnalysis",
    "CohortReport",
    "Disclosure",
    "GroupParticipation",
    "IntakePoint",
    "Participation",
    "Perception",
    "ScoreRow",
    "Selection",
    "Stats",
    "build_cohort_report",
    "dimension_key",
    "headings",
    "scored_cycles",
]
