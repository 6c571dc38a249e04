"""A linear audit of suppression: no small hidden cell may be solvable from what the report shows.

Hiding cells row by row (:func:`feedback360.scoring.engine._suppress_row`) stops "All raters minus
the shown groups" within one row. Rows are also tied together: when every response of a column
rated the same items under an element or domain (which the shown n's reveal), that column's
element or domain score is the exact average of its item scores, so a hidden item cell could be
recovered from its element cell and its siblings, and then a smaller hidden cell from its row.

The audit writes each tie as a linear equation in the cells' sums (n x mean): per row, All raters =
the reported columns + the rest (the responses in no reported column); per column and element or
domain whose raters all rated the same items, m x aggregate = the sum of those items. Shown cells
are known. Gauss-Jordan elimination then says what else is determined. Sensitive are: any hidden
cell holding 1..k-1 anonymous responses, and in each row the undetermined hidden cells together
when they hold 1..k-1. While one of these is determined, the audit hides one more cell among those
its derivation uses (preferring one the other shown cells cannot give back), and asks again.

Raters who skip different items make element and domain scores mixtures no cell-level equation
captures; such ties are left out, as an attacker cannot write them down either.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import numpy as np

from .report import ALL

REST = "\x00rest"  # responses within All raters but in no reported column (a pseudo-column)
_TOL = 1e-8
_LEVEL_COST = {"item": 0, "element": 1, "domain": 2}

RowId = tuple[str, str]  # (level, key)
Var = tuple[RowId, str]  # (row, column)


def protect(counts: dict[RowId, dict[str, int]], hidden: dict[RowId, set[str]],
            disjoint: list[str], anonymous: set[str],
            families: Iterable[tuple[RowId, list[RowId]]], k: int) -> None:
    """Add to ``hidden`` (row -> hidden column keys) until nothing sensitive can be solved for.

    ``counts`` gives each row's n per column (including ``ALL``); ``disjoint`` are the reported
    group and pool columns; ``families`` pairs each element and domain row with its item rows.
    """
    audit = _Audit(counts, disjoint, anonymous, list(families), k)
    unknown = np.array([c == REST or c in hidden[row] for row, c in audit.variables])
    audit.hide_until_safe(unknown)
    # A group cell hidden only to cover a smaller one (the row rule) is not needed where the
    # audit hid All raters' cell in that row: show it again if that exposes nothing.
    for i, (row, column) in enumerate(audit.variables):
        if (unknown[i] and audit.protectable[i] and column != ALL
                and audit.size[i] >= k and unknown[audit.index[row, ALL]]):
            unknown[i] = False
            if audit.exposures(unknown, _Elimination(audit.system, unknown)):
                unknown[i] = True
    for i, (row, column) in enumerate(audit.variables):
        if column != REST:
            (hidden[row].add if unknown[i] else hidden[row].discard)(column)


class _Audit:
    def __init__(self, counts: dict[RowId, dict[str, int]], disjoint: list[str],
                 anonymous: set[str], families: list[tuple[RowId, list[RowId]]], k: int) -> None:
        n = {row: {**cells, REST: cells[ALL] - sum(cells[c] for c in disjoint)}
             for row, cells in counts.items()}
        equations = [{(row, c): (1.0 if c == ALL else -1.0)
                      for c in (ALL, *disjoint, REST) if cells[c]} for row, cells in n.items()]
        for aggregate, items in families:
            for column in (ALL, *[c for c in disjoint if c in anonymous], REST):
                total = n[aggregate][column]
                if total and all(n[item][column] in (0, total) for item in items):
                    rated = [item for item in items if n[item][column]]
                    equations.append({(aggregate, column): float(len(rated)),
                                      **{(item, column): -1.0 for item in rated}})
        self.k = k
        self.variables = sorted({v for eq in equations for v in eq}, key=_order)
        self.index = {v: i for i, v in enumerate(self.variables)}
        self.system = np.zeros((len(equations), len(self.variables)))
        for r, eq in enumerate(equations):
            for var, coefficient in eq.items():
                self.system[r, self.index[var]] = coefficient
        self.size = np.array([n[row][c] for row, c in self.variables])
        self.protectable = np.array([c in anonymous for _, c in self.variables]) & (self.size > 0)
        # anonymous responses in a cell: All raters' less the identifiable columns'
        named = [c for c in disjoint if c not in anonymous]
        people = self.size - np.array([sum(n[row][c] for c in named) if c == ALL else 0
                                       for row, c in self.variables])
        self.small = (np.array([c in (*anonymous, REST) for _, c in self.variables])
                      & (people > 0) & (people < k))
        self.rows = [(self.index[row, ALL],
                      [self.index[row, c] for c in (*disjoint, REST) if (row, c) in self.index])
                     for row in n if (row, ALL) in self.index]

    def exposures(self, unknown: np.ndarray,
                  elimination: _Elimination) -> list[tuple[np.ndarray, int]]:
        """What a reader could solve for that must stay hidden, each as (a combination of the
        unknown variables, the variable it concerns)."""
        found = [(_unit(len(unknown), i), i)
                 for i in np.flatnonzero(unknown & self.small & elimination.solved)]
        for total, parts in self.rows:
            rest = [i for i in parts if unknown[i] and not elimination.solved[i]]
            if 0 < self.size[rest].sum() < self.k:
                combination = np.zeros(len(unknown))
                combination[rest] = 1.0
                if elimination.determines(combination):
                    found.append((combination, total))
        return found

    def hide_until_safe(self, unknown: np.ndarray) -> None:
        """Mark more of ``unknown`` (in place) until :meth:`exposures` finds nothing."""
        for _ in range(len(self.variables)):
            elimination = _Elimination(self.system, unknown)
            for combination, anchor in self.exposures(unknown, elimination):
                uses = (np.abs(elimination.derivation(combination)) > _TOL) & self.protectable
                candidates = sorted(np.flatnonzero(uses), key=lambda i: _cost(
                    self.variables[i], self.variables[anchor], self.size[i]))
                if candidates:
                    # the cheapest cell the other shown cells cannot give back, else the cheapest
                    free = (i for i in candidates if not elimination.redundant[i])
                    unknown[next(free, candidates[0])] = True
                    break
            else:  # nothing exposed, or only identifiable answers give it away
                return


class _Elimination:
    """Gauss-Jordan elimination of ``system @ v = 0`` for the ``unknown`` v, the known v moved to
    the right. Elementwise numpy (no BLAS threads) on a small, sparse system."""

    def __init__(self, system: np.ndarray, unknown: np.ndarray) -> None:
        used = (system[:, unknown] != 0).any(axis=1)
        self.unknown_ids, self.known_ids = np.flatnonzero(unknown), np.flatnonzero(~unknown)
        a, b = system[used][:, unknown], system[used][:, ~unknown]
        pivots: dict[int, int] = {}
        for column in range(a.shape[1]):
            r = len(pivots)
            if r == a.shape[0]:
                break
            p = r + int(np.argmax(np.abs(a[r:, column])))
            if abs(a[p, column]) < _TOL:
                continue
            a[[r, p]], b[[r, p]] = a[[p, r]], b[[p, r]]
            b[r] /= a[r, column]
            a[r] /= a[r, column]
            rows = np.flatnonzero(a[:, column])  # sparse: touch only the rows that need it
            rows = rows[rows != r]
            if len(rows):
                factors = a[rows, column]
                a[rows] -= np.multiply.outer(factors, a[r])
                b[rows] -= np.multiply.outer(factors, b[r])
                a[rows, column] = 0.0
            pivots[column] = r
        self.a, self.b, self.pivots = a, b, pivots
        self.free = np.array([c for c in range(a.shape[1]) if c not in pivots], dtype=int)
        self.solved = np.zeros(len(unknown), dtype=bool)
        for column, r in pivots.items():
            self.solved[self.unknown_ids[column]] = not (np.abs(a[r, self.free]) > _TOL).any()
        # rows left with no unknown: relations among the known variables themselves
        self.redundant = np.zeros(len(unknown), dtype=bool)
        self.redundant[self.known_ids] = (np.abs(b[len(pivots):]) > _TOL).any(axis=0)

    def _combine(self, combination: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        weights = combination[self.unknown_ids]
        rows = [(weights[c], r) for c, r in self.pivots.items() if weights[c]]
        residual = weights[self.free] - sum((w * self.a[r, self.free] for w, r in rows),
                                            np.zeros(len(self.free)))
        known = sum((w * self.b[r] for w, r in rows), np.zeros(len(self.known_ids)))
        return residual, known

    def determines(self, combination: np.ndarray) -> bool:
        """Whether this combination of unknowns follows from the known variables."""
        return not (np.abs(self._combine(combination)[0]) > _TOL).any()

    def derivation(self, combination: np.ndarray) -> np.ndarray:
        """Weights on every variable (non-zero only on known ones) the derivation uses."""
        weights = np.zeros(len(combination))
        weights[self.known_ids] = self._combine(combination)[1]
        return weights


def _unit(length: int, index: int) -> np.ndarray:
    vector = np.zeros(length)
    vector[index] = 1.0
    return vector


def _cost(var: Var, anchor: Var, size: int) -> tuple[Hashable, ...]:
    """Prefer a cell in the exposed row, a group's over All raters', items over elements over
    domains, then the smallest."""
    return (var[0] != anchor[0], var[1] == ALL, _LEVEL_COST[var[0][0]], size, _order(var))


def _order(var: Var) -> tuple[Hashable, ...]:
    return (var[0][0], var[0][1], var[1])
