"""The cohort report's data: frozen dataclasses of plain values (what a page or export may show)."""

from __future__ import annotations

from dataclasses import dataclass

DIMENSIONS = ("specialty", "training_year", "site")
DIMENSION_TITLES = {"specialty": "Specialty", "training_year": "Training year", "site": "Site"}
NOT_RECORDED = "Not recorded"


@dataclass(frozen=True)
class Selection:
    """Which trainees and cycles a report describes; None means "all"."""

    launch_id: int | None = None
    specialty: str | None = None
    training_year: int | None = None
    site: str | None = None

    def value(self, dimension: str) -> str | int | None:
        return getattr(self, dimension)

    @property
    def fixed(self) -> dict[str, str | int]:
        return {d: v for d in DIMENSIONS if (v := self.value(d)) is not None}


@dataclass(frozen=True)
class Stats:
    """A distribution over trainees: each trainee's score is one value (their cycle's mean)."""

    n: int
    mean: float
    sd: float | None  # ddof=1; None for fewer than two trainees
    bands: tuple[int, ...]  # trainees in each of CohortReport.band_labels


@dataclass(frozen=True)
class ScoreRow:
    level: str  # "domain" | "element"
    key: str
    title: str
    parent: str | None  # an element's domain
    others: Stats  # all raters' means, one per trainee
    own: Stats | None  # self-assessments of the trainees who have one (None if not shown)


@dataclass(frozen=True)
class Perception:
    """Self against others at cohort level for one domain or element."""

    level: str
    key: str
    title: str
    parent: str | None
    n: int
    self_mean: float
    others_mean: float
    gap: float  # mean of (self - others)
    over: int  # trainees rating themselves >= threshold above others
    under: int  # ... >= threshold below others


@dataclass(frozen=True)
class GroupParticipation:
    key: str
    label: str
    invited: int
    completed: int
    declined: int

    @property
    def rate(self) -> float | None:
        return self.completed / self.invited if self.invited else None


@dataclass(frozen=True)
class Participation:
    trainees: int  # in the selection
    launched: int  # with a cycle in the report
    scored: int  # whose cycle had enough responses to count in the scores
    groups: tuple[GroupParticipation, ...]
    total: GroupParticipation

    @property
    def responses_per_trainee(self) -> float | None:
        return self.total.completed / self.launched if self.launched else None


@dataclass(frozen=True)
class Cell:
    """One cell of a breakdown: its others' domain and element means, or why they are hidden."""

    value: str | int | None  # the filter value (None: not recorded)
    label: str
    n: int | None  # trainees scored; None when hidden
    hidden: str | None  # why hidden ("fewer than 5 trainees", ...); None when shown
    rows: tuple[ScoreRow, ...] = ()

    def mean(self, key: str) -> float | None:
        return next((row.others.mean for row in self.rows if row.key == key), None)


@dataclass(frozen=True)
class Breakdown:
    dimension: str
    title: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class IntakePoint:
    cohort: str
    intake_year: int | None
    current: bool
    n: int | None
    hidden: str | None
    means: dict[str, float]  # domain key -> all raters' mean


@dataclass(frozen=True)
class CohortReport:
    selection: Selection
    min_trainees: int
    scale_min: int
    scale_max: int
    threshold: float  # blind-spot threshold, points on the scale
    band_labels: tuple[str, ...]
    domain_titles: dict[str, str]
    has_cycles: bool  # any closed cycle at all in the cohort (for the empty state)
    message: str | None  # why nothing (or not everything) can be shown for this selection
    participation: Participation | None
    domains: tuple[ScoreRow, ...] = ()
    elements: tuple[ScoreRow, ...] = ()
    weakest: tuple[ScoreRow, ...] = ()
    strongest: tuple[ScoreRow, ...] = ()
    perception: tuple[Perception, ...] = ()
    breakdowns: tuple[Breakdown, ...] = ()
    trend: tuple[IntakePoint, ...] = ()

    @property
    def publishable(self) -> bool:
        return self.participation is not None

    @property
    def scores_shown(self) -> bool:
        return bool(self.domains)
