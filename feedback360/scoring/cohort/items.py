"""Statement-level (item) figures for programme evaluation: cohort aggregates, never rows.

For a set of trainees the audit admitted (the same scored cycles as the page's domain and element
figures, and for self the same self-assessed ones), each statement gets what the page gives an
element: trainees n, mean, standard deviation and score bands of colleagues' means, and of
self-scores. Every figure is a sum over exactly that admitted set, so the audit that admitted the
set covers it: a statement that some of the set's trainees lack a value for (all their colleagues
chose "not observed") would describe a different, unaudited set, and is not shown.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ...instruments import Instrument
from . import stats as numbers
from .model import Stats
from .tables import DECIMALS

NOT_RATED = "Not shown: not every trainee here was rated on this statement"


def item_table(rows: pd.DataFrame, scored: Sequence[int], self_scored: Sequence[int] | None,
               instrument: Instrument, band_labels: Sequence[str]) -> pd.DataFrame:
    """``rows``: cycle_id, item, self_score, others_mean (item level) of at least these cycles;
    ``self_scored`` None when self against others is not shown for the set."""
    edges = numbers.band_edges(instrument.scale.min, instrument.scale.max)
    others = _wide(rows, "others_mean", scored, instrument)
    own = _wide(rows, "self_score", self_scored, instrument) if self_scored else None
    records = []
    for key in instrument.item_keys:
        colleagues = _stats(others[key].to_numpy(), edges)
        mine = _stats(own[key].to_numpy(), edges) if own is not None else None
        records.append((
            instrument.domain_of_item(key).title, instrument.element_of_item(key).title,
            instrument.item(key).text,
            *(_described(colleagues, len(band_labels)) if colleagues else
              (NOT_RATED,) * (3 + len(band_labels))),
            *((mine.n, _round(mine.mean), _round(mine.sd)) if mine else
              ((NOT_RATED,) * 3 if own is not None else (None, None, None)))))
    return pd.DataFrame(records, columns=[
        "Domain", "Element", "Statement", "Trainees", "Colleagues: mean",
        "Colleagues: standard deviation", *[f"Trainees {label.lower()}" for label in band_labels],
        "Self: trainees", "Self: mean", "Self: standard deviation"], dtype=object)


def _wide(rows: pd.DataFrame, column: str, cycles: Sequence[int], instrument: Instrument
          ) -> pd.DataFrame:
    chosen = rows[rows["cycle_id"].isin(cycles)]
    wide = chosen.pivot_table(index="cycle_id", columns="item", values=column, aggfunc="first",
                              dropna=False) if len(chosen) else pd.DataFrame()
    return wide.reindex(index=list(cycles), columns=list(instrument.item_keys)).astype(float)


def _stats(values: np.ndarray, edges: Sequence[float]) -> Stats | None:
    if not len(values) or np.isnan(values).any():
        return None
    return numbers.stats(values, edges)


def _described(shown: Stats, bands: int) -> tuple[object, ...]:
    assert len(shown.bands) == bands
    return (shown.n, _round(shown.mean), _round(shown.sd), *shown.bands)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)
