"""score_cycle: a cycle's answers (a long DataFrame) in, an anonymity-safe CycleReport out."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .audit import protect
from .report import (
    ALL,
    LEVELS,
    POOLED,
    POOLED_LABEL,
    SELF,
    AnonymityRules,
    Cell,
    Column,
    CycleReport,
    Distribution,
    Gap,
    ItemScore,
    Row,
    Validity,
    _mean,
    _minus,
)

if TYPE_CHECKING:
    from ..instruments import Instrument

_EPS = 1e-9
_COLUMNS = ("response", "group", "is_self", "item", "score")
# Student's t, 0.975 quantile, for 1..30 degrees of freedom (Cornish-Fisher expansion beyond).
_T975 = (12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
         2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
         2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423)


def t975(df: int) -> float:
    """The two-sided 95% critical value of Student's t with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, got {df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959963984540054
    return (z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3))


def score_cycle(answers: pd.DataFrame, instrument: Instrument,
                rules: AnonymityRules | None = None) -> CycleReport:
    """Score one cycle's answers (long frame: response, group, is_self, item, score)."""
    rules = rules or AnonymityRules()
    k, scale = rules.min_group, instrument.scale
    frame = _clean(answers, instrument)
    rated = frame.groupby("response")["score"].count()
    kinds = frame.drop_duplicates("response").set_index("response")
    self_ids = list(kinds.index[kinds["is_self"]])
    raters = kinds.loc[~kinds["is_self"], "group"]
    need = instrument.validity.min_rated_fraction * len(instrument.item_keys) - _EPS
    counting = raters[rated.reindex(raters.index, fill_value=0) >= need]
    total = len(counting)
    group_counts = {g: int((counting == g).sum()) for g in instrument.group_keys}
    dropped = len(raters) - total
    enough = total >= rules.needed

    columns = [Column(SELF, "Self-assessment", "self", len(self_ids), True, ())]
    members: dict[str, list[str]] = {SELF: self_ids}
    notes: list[str] = []
    if enough:
        plan, notes = _plan(instrument, group_counts, k)
        present = tuple(g for g in instrument.group_keys if group_counts[g])
        plan.insert(0, (ALL, "All raters", "all", False, present))
        for key, label, kind, identifiable, groups in plan:
            members[key] = list(counting.index[counting.isin(groups)])
            columns.append(Column(key, label, kind, len(members[key]), identifiable, groups))
    disjoint = [c.key for c in columns if c.kind in ("group", "pool")]
    anonymous = {c.key for c in columns if not c.identifiable}

    kept = frame[frame["response"].isin([*self_ids, *counting.index])].dropna(subset=["score"])
    kept = kept.assign(element=kept["item"].map(lambda i: instrument.element_of_item(i).key),
                       domain=kept["item"].map(lambda i: instrument.domain_of_item(i).key))
    stats: dict[tuple[str, str], dict[str, tuple[int, float, float]]] = {}
    for level in LEVELS:  # each response's score per domain, element or item (NaN: none)
        keys = [key for key, _, _ in _entries(instrument, level)]
        wide = kept.groupby(["response", level])["score"].mean().unstack().reindex(columns=keys)
        position = {response: i for i, response in enumerate(wide.index)}
        values = wide.to_numpy(dtype=float)
        for column in columns:
            picked = values[[position[r] for r in members[column.key] if r in position]]
            for key, n, mean, sd in zip(keys, *_describe(picked), strict=True):
                stats.setdefault((level, key), {})[column.key] = (n, mean, sd)
    counts = {row: {c: v[0] for c, v in cells.items()} for row, cells in stats.items()}
    hidden = {row: _suppress_row(n, disjoint, anonymous, k) for row, n in counts.items()}
    if enough:
        protect(counts, hidden, disjoint, anonymous, _families(instrument), k)
    tables = {level: [Row(level, key, title, parent,
                          {c: _cell(*v, scale.min, scale.max, c in hidden[level, key])
                           for c, v in stats[level, key].items()})
                      for key, title, parent in _entries(instrument, level)]
              for level in LEVELS}
    if any(cell.suppressed for rows in tables.values() for row in rows
           for cell in row.cells.values()):
        notes.append(f"Scores given by fewer than {k} colleagues are not shown, nor are the "
                     "scores that would let someone work them out.")

    gaps = tuple(_gap(row) for level in LEVELS for row in tables[level])
    threshold = rules.blind_spot_threshold - _EPS
    item_gaps = [g for g in gaps if g.level == "item" and g.gap is not None]
    shown = [ItemScore(row.key, row.title, instrument.domain_of_item(row.key).key,
                       row.parent or "", row.cells[ALL].mean, row.cells[ALL].n)
             for row in tables["item"] if ALL in row.cells and row.cells[ALL].shown]
    by_score = kept[kept["response"].isin(counting.index)].groupby(["item", "score"]).size()
    by_score = by_score.to_dict()
    distributions = tuple(
        Distribution(s.key, {p: int(by_score.get((s.key, float(p)), 0)) for p in scale.points},
                     total - s.n) for s in shown)
    return CycleReport(
        instrument.key, instrument.version, scale.min, scale.max, rules, enough,
        _message(total, group_counts, dropped, rules, instrument), dropped,
        _validity(instrument, group_counts, dropped), tuple(columns),
        {c.key: c.n for c in columns}, group_counts,
        tuple(tables["domain"]), tuple(tables["element"]), tuple(tables["item"]), gaps,
        tuple(sorted((g for g in item_gaps if g.gap >= threshold), key=lambda g: -g.gap)),
        tuple(sorted((g for g in item_gaps if -g.gap >= threshold), key=lambda g: g.gap)),
        tuple(sorted(shown, key=lambda s: -s.mean)[:5]),
        tuple(sorted(shown, key=lambda s: s.mean)[:5]), distributions, tuple(notes))


def _clean(answers: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    missing = [c for c in _COLUMNS if c not in answers.columns]
    if missing:
        raise ValueError(f"answers lack the column(s) {', '.join(missing)}")
    reserved = {SELF, ALL, POOLED} & set(instrument.group_keys)
    if reserved:
        raise ValueError(f"rater group key(s) {sorted(reserved)} clash with report columns")
    answers = answers.reset_index(drop=True)
    is_self = answers["is_self"].eq(True).fillna(False).astype(bool)
    frame = pd.DataFrame({"response": answers["response"].astype(str), "is_self": is_self,
                          "group": answers["group"].where(~is_self),
                          "item": answers["item"].astype(str),
                          "score": pd.to_numeric(answers["score"]).astype("float64")})
    unknown = sorted(set(frame["item"]) - set(instrument.item_keys))
    if unknown:
        raise ValueError(f"items not in {instrument.key} v{instrument.version}: {unknown[:5]}")
    groups = frame.loc[~is_self, "group"]
    if (groups.isna() | ~groups.isin(instrument.group_keys)).any():
        raise ValueError(f"rater responses need a rater group of {instrument.key}")
    scores = frame["score"].dropna()
    if ((scores < instrument.scale.min) | (scores > instrument.scale.max)
            | (scores != scores.round())).any():
        raise ValueError(f"scores must be whole points from {instrument.scale.min} to "
                         f"{instrument.scale.max} (or missing for not observed)")
    if frame.duplicated(["response", "item"]).any():
        raise ValueError("a response answers the same item twice")
    if frame.drop_duplicates(["response", "is_self", "group"])["response"].duplicated().any():
        raise ValueError("a response changes its rater group or self flag between rows")
    return frame


def group_columns(instrument: Instrument, counts: dict[str, int],
                  rules: AnonymityRules) -> list[tuple[str, tuple[str, ...]]]:
    """(kind, member groups) of each group and pool column a report of responses counted
    ``counts`` per group would have: the same grouping, before there is a report (the trainee's
    status page while the cycle is open). None under ``rules.needed`` responses."""
    counts = {key: counts.get(key, 0) for key in instrument.group_keys}
    if sum(counts.values()) < rules.needed:
        return []
    plan, _ = _plan(instrument, counts, rules.min_group)
    return [(kind, groups) for _, _, kind, _, groups in plan]


def _plan(instrument: Instrument, counts: dict[str, int],
          k: int) -> tuple[list[tuple[str, str, str, bool, tuple[str, ...]]], list[str]]:
    """The group and pool columns to report, in instrument order, and notes on what was merged."""
    order = {key: i for i, key in enumerate(instrument.group_keys)}
    groups = [g for g in instrument.rater_groups if counts[g.key]]
    named = [g for g in groups if not g.anonymous]
    own = [g for g in groups if g.anonymous and counts[g.key] >= k]
    small = [g for g in groups if g.anonymous and counts[g.key] < k]
    pool, moved, unnamed = list(small), [], []
    total = sum(counts.values())

    def n(gs: Iterable[Any]) -> int:
        return sum(counts[g.key] for g in gs)

    def smallest(gs: list[Any]) -> Any:
        return min(gs, key=lambda g: (counts[g.key], -order[g.key]))

    while 0 < total - n(named) - n(own) - (n(pool) if n(pool) >= k else 0) < k:
        if own:
            moved.append(smallest(own))
            own.remove(moved[-1])
            pool.append(moved[-1])
        elif named:
            unnamed.append(smallest(named))
            named.remove(unnamed[-1])
        else:
            break
    plan = [(g.key, g.label, "group", not g.anonymous, (g.key,))
            for g in sorted(named + own, key=lambda g: order[g.key])]
    pool.sort(key=lambda g: order[g.key])
    if n(pool) >= k:
        plan.append((POOLED, POOLED_LABEL, "pool", False, tuple(g.key for g in pool)))
    where = f'together as "{POOLED_LABEL}"' if n(pool) >= k else 'only within "All raters"'
    notes = []
    if small:
        notes.append(f"Fewer than {k} responses each from {_join(small)}: their answers are "
                     f"shown {where}.")
    for gs, place in ((moved, f'within "{POOLED_LABEL}"'), (unnamed, 'only within "All raters"')):
        if gs:
            notes.append(f"Answers from {_join(gs)} are shown {place} so that smaller groups' "
                         "answers cannot be worked out from the rest.")
    return plan, notes


def _suppress_row(n: dict[str, int], disjoint: list[str], anonymous: set[str], k: int) -> set[str]:
    """Columns whose cell is hidden in one row, so that what stays hidden is 0 or >= k responses."""
    hidden = {c for c in n if c in anonymous and 0 < n[c] < k}
    while ALL in n and ALL not in hidden:
        rest = n[ALL] - sum(n[c] for c in disjoint if c not in hidden)
        if rest == 0 or rest >= k:
            break
        candidates = [c for c in disjoint if c in anonymous and c not in hidden and n[c]]
        hidden.add(min(candidates, key=lambda c: (n[c], -disjoint.index(c)))
                   if candidates else ALL)
    return hidden


def _describe(values: np.ndarray) -> tuple[list[int], list[float], list[float]]:
    """n, mean and SD (ddof=1) of each column of ``values``, ignoring NaN (NaN where undefined)."""
    rated = ~np.isnan(values)
    n = rated.sum(axis=0)
    mean = np.divide(np.where(rated, values, 0.0).sum(axis=0), n,
                     out=np.full(n.shape, np.nan), where=n > 0)
    squares = (np.where(rated, values - mean, 0.0) ** 2).sum(axis=0)
    sd = np.sqrt(np.divide(squares, n - 1, out=np.full(n.shape, np.nan), where=n > 1))
    return n.tolist(), mean.tolist(), sd.tolist()


def _cell(n: int, mean: float, sd: float, low: int, high: int, suppressed: bool) -> Cell:
    if suppressed or n == 0:
        return Cell(n, suppressed=suppressed)
    mean = min(max(float(mean), low), high)
    if n < 2:
        return Cell(n, mean)
    half = t975(n - 1) * float(sd) / math.sqrt(n)
    return Cell(n, mean, float(sd), max(float(low), mean - half), min(float(high), mean + half))


def _families(instrument: Instrument) -> list[tuple[tuple[str, str], list[tuple[str, str]]]]:
    """Each element and domain row with its item rows (a per-response mean averages these)."""
    return [*((("element", e.key), [("item", i.key) for i in e.items])
              for e in instrument.elements),
            *((("domain", d.key), [("item", i.key) for i in d.items]) for d in instrument.domains)]


def _entries(instrument: Instrument, level: str) -> list[tuple[str, str, str | None]]:
    if level == "domain":
        return [(d.key, d.title, None) for d in instrument.domains]
    if level == "element":
        return [(e.key, e.title, d.key) for d in instrument.domains for e in d.elements]
    return [(i.key, i.text, e.key) for e in instrument.elements for i in e.items]


def _gap(row: Row) -> Gap:
    own, others = _mean(row, SELF), _mean(row, ALL)
    return Gap(row.level, row.key, row.title, own, others, _minus(own, others))


def _join(groups: list[Any]) -> str:
    labels = [g.label for g in groups]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _message(total: int, counts: dict[str, int], dropped: int, rules: AnonymityRules,
             instrument: Instrument) -> str:
    if total < rules.needed:
        more = rules.needed - total
        text = (f"Not enough responses yet to show colleagues' scores: {total} of the "
                f"{rules.needed} needed, so {more} more {'is' if more == 1 else 'are'} "
                "needed. Only the self-assessment is shown.")
    else:
        groups = sum(1 for n in counts.values() if n)
        text = f"{_plural(total, 'response')} from {_plural(groups, 'group')}."
    if dropped:
        text += (f" {_plural(dropped, 'response')} not counted: fewer than "
                 f"{instrument.validity.min_rated_fraction:.0%} of statements rated.")
    return text


def _validity(instrument: Instrument, counts: dict[str, int], dropped: int) -> Validity:
    rule = instrument.validity
    n = sum(counts.values())
    senior = sum(counts[g] for g in instrument.senior_group_keys)
    met = n >= rule.min_responses and senior >= rule.min_senior
    text = (f"{'Meets' if met else 'Does not yet meet'} the instrument's rule for a valid report: "
            f"{_plural(n, 'colleague')} responded ({rule.min_responses} needed)")
    if rule.min_senior:
        text += f", {senior} of them senior ({rule.min_senior} needed)"
    text += "." if met else ". Read the scores with caution."
    if dropped:
        text += (f" {_plural(dropped, 'response')} not counted: fewer than "
                 f"{rule.min_rated_fraction:.0%} of statements rated.")
    return Validity(n, senior, rule.min_responses, rule.min_senior, rule.min_rated_fraction,
                    dropped, met, text)

