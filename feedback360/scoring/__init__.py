"""Scoring: a cycle's answers in, anonymity-safe aggregates out (DESIGN.md "Anonymity", "Reports").

Pure pandas/numpy, no Flask and no database session: it is tested with plain DataFrames, and its
:class:`CycleReport` round-trips through JSON (``to_dict``/``from_dict``): a closed cycle's summary.

The rules, in the order they apply (k = ``AnonymityRules.min_group``):

1. **Validity.** A rater response counts only if at least ``validity.min_rated_fraction`` of the
   instrument's items are rated; the others are dropped before anything else (and counted).
2. **Reporting groups** (whole responses). An identifiable group (``anonymous: false``) is shown as
   itself with any n. An anonymous group with n >= k is shown as itself; smaller ones are pooled as
   "Other colleagues" (key ``pooled``), shown if the pool reaches k and otherwise only inside "All
   raters". Whenever the hidden remainder (All raters minus every shown column) would be 1..k-1,
   the smallest shown anonymous group joins the pool; with none left, identifiable groups (smallest
   first) are shown only inside All raters. Under ``AnonymityRules.needed`` (``min_total``, and
   never under k) responses nothing but the self-assessment is scored.
3. **Cells.** Domain and element scores are per-response means, then averaged over responses. A
   cell of an anonymous column (a group, the pool, All raters) rated by 1..k-1 responses is
   suppressed; if a row's hidden cells would then add up to 1..k-1 responses (so All raters minus
   the shown columns would give them away), the next smallest anonymous cell is hidden too, or All
   raters' cell when none is left. Identifiable columns are shown as theirs by design.
4. **Audit across rows** (:mod:`.audit`). Where a column's raters all rated the same items of an
   element or domain, its score there is an exact average of item scores, so rows can be combined
   to solve for a hidden cell. Every such tie and every row is written as a linear equation; more
   cells are hidden until no cell of 1..k-1 anonymous responses (nor a row's hidden cells
   together, when they are that few) can be solved for from the shown ones.

"Not observed" (NaN) is never a score: it only lowers n. n is shown even for hidden cells.
"""

from .engine import score_cycle, t975
from .report import (
    ALL,
    FORMAT,
    LEVELS,
    POOLED,
    POOLED_LABEL,
    SELF,
    AnonymityRules,
    Cell,
    Change,
    Column,
    CycleReport,
    Distribution,
    Gap,
    ItemScore,
    Row,
    Validity,
    compare_cycles,
)

__all__ = ["ALL", "FORMAT", "LEVELS", "POOLED", "POOLED_LABEL", "SELF", "AnonymityRules", "Cell",
           "Change", "Column", "CycleReport", "Distribution", "Gap", "ItemScore", "Row", "Validity",
           "compare_cycles", "score_cycle", "t975"]
