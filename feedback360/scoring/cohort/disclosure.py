"""Which sets of trainees a cohort report may describe, decided once for the whole cohort.

The admin may ask for any filter combination, so whatever one query shows, another may show too:
what is publishable must not depend on the question. Every set a report could describe (the whole
selection, every filter combination, every breakdown cell, for every choice of launch) is offered
to :class:`Disclosure` in one fixed order of importance, and admitted only if

* it holds at least ``min_size`` trainees, and
* with the sets admitted before it, nothing about fewer than ``min_size`` trainees becomes
  derivable from their sums. A reader who knows each shown set's n and mean knows its sum, for
  any per-cycle quantity (a score, its square, an indicator such as "over-rates by a point"), so
  what can be derived is exactly the row space of the admitted sets' membership matrix.

The row space's coordinates are *contributions*: one trainee's one cycle. A trainee counts in a
set through one of their cycles (their most recent, or the one a launch opened), and two sets
that count the same trainee through different cycles differ in that trainee. So "nothing small
is derivable" means: no nonzero vector of the row space touches only 1..min_size-1 trainees.
Checked are

* each group of trainees no set can tell apart, when it is small: no vector of the row space lies
  within its contributions (for one cycle each, leverage 1; for several, the largest eigenvalue
  of the row space's projector on them is 1: the difference between two of their cycles counts);
* each pair of candidate sets large enough to admit that differ by 1..min_size-1 trainees (one
  set less another, or the same trainees counted through other cycles): their difference is
  watched like a small set, so no two admitted sets, nor any combination, ever differ by so few;
* each candidate set of 1..min_size-1 trainees, and each admitted set's hidden remainder in a
  breakdown (the set less its admitted cells: complementary suppression).

Trainees enter as *classes*: those every candidate set treats alike (the same cycles counted in
the same sets, with the same attributes), with a column per class and cycle ("slot"), not per
trainee, so the matrix stays small for thousands of trainees. Pure numpy.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import numpy as np

_TOL = 1e-7


class _Matrix:
    """Rows appended in place (capacity doubling): admitting thousands of sets must not copy
    the whole matrix each time."""

    def __init__(self, width: int) -> None:
        self._data = np.zeros((16, width))
        self.count = 0

    @property
    def rows(self) -> np.ndarray:
        return self._data[:self.count]

    def append(self, rows: np.ndarray) -> None:
        rows = np.atleast_2d(rows)
        needed = self.count + len(rows)
        if needed > len(self._data):
            grown = np.zeros((max(needed, 2 * len(self._data)), self._data.shape[1]))
            grown[:self.count] = self.rows
            self._data = grown
        self._data[self.count:needed] = rows
        self.count = needed


class _Rows:
    """Vectors kept with their squared projections onto the admitted sets' row space, their
    squared norms and the number of trainees each touches."""

    def __init__(self, width: int) -> None:
        self._vectors = _Matrix(width)
        self.projections = np.zeros(0)
        self.norms = np.zeros(0)
        self.trainees = np.zeros(0)
        self.names: dict[Hashable, int] = {}

    @property
    def vectors(self) -> np.ndarray:
        return self._vectors.rows

    def add(self, vectors: np.ndarray, projections: np.ndarray, trainees: np.ndarray,
            name: Hashable | None = None) -> None:
        vectors = np.atleast_2d(vectors)
        if name is not None:
            self.names[name] = len(self.projections)
        self._vectors.append(vectors)
        self.projections = np.append(self.projections, projections)
        self.norms = np.append(self.norms, np.einsum("ij,ij->i", vectors, vectors))
        self.trainees = np.append(self.trainees, trainees)


class _Blocks:
    """The small classes' slots, grouped by how many each has, with the Gram matrix of the
    admitted basis restricted to them (the projector's block on those contributions)."""

    def __init__(self, slots: list[np.ndarray]) -> None:
        by_count: dict[int, list[np.ndarray]] = {}
        for columns in slots:
            by_count.setdefault(len(columns), []).append(columns)
        self.columns = {count: np.array(group, dtype=int) for count, group in by_count.items()}
        self.grams = {count: np.zeros((len(group), count, count))
                      for count, group in by_count.items()}

    def added(self, new: np.ndarray) -> dict[int, np.ndarray] | None:
        """The Gram matrices with ``new`` in the basis, or None if that exposes a class."""
        grams = {}
        for count, columns in self.columns.items():
            part = new[columns]
            gram = self.grams[count] + part[:, :, None] * part[:, None, :]
            largest = (gram[:, 0, 0] if count == 1
                       else np.linalg.eigvalsh(gram)[:, -1])
            if (largest >= 1 - _TOL).any():
                return None
            grams[count] = gram
        return grams


class Disclosure:
    """Greedy admission of sets (indicator vectors over class slots) under the module's rules.

    ``sizes``: per column, the trainees its class has; ``owners``: per column, its class (a
    class's columns are its cycles). Without ``owners`` every column is a class of its own.
    """

    def __init__(self, sizes: Iterable[int], min_size: int,
                 owners: Iterable[int] | None = None) -> None:
        self.sizes = np.asarray(list(sizes), dtype=float)
        width = len(self.sizes)
        owner = np.arange(width) if owners is None else np.asarray(list(owners), dtype=int)
        self.min_size = min_size
        # columns grouped by class: np.add.reduceat sums each class's slots
        self._order = np.argsort(owner, kind="stable")
        _, self._starts = np.unique(owner[self._order], return_index=True)
        self._class_sizes = self.sizes[self._order][self._starts] if width else np.zeros(0)
        self._basis = _Matrix(width)  # orthonormal rows spanning the admitted sets
        ends = [*self._starts[1:], width] if width else []
        small = [self._order[start:end] for start, end, size in zip(
            self._starts, ends, self._class_sizes, strict=True) if 0 < size < min_size]
        self._blocks = _Blocks(small)
        self._watched = _Rows(width)  # small candidate sets and differences, never admitted
        self._remainders = _Rows(width)  # by (admitted set, dimension): the set less its cells
        self.admitted: dict[Hashable, np.ndarray] = {}

    @property
    def basis(self) -> np.ndarray:
        return self._basis.rows

    def size(self, vector: np.ndarray) -> int:
        """Trainees in a set (one slot at most per trainee)."""
        return round(float(vector @ self.sizes))

    def trainees(self, vectors: np.ndarray) -> np.ndarray:
        """For each row, how many trainees it touches (a class counts if any slot is nonzero)."""
        vectors = np.atleast_2d(vectors)
        if not vectors.shape[1]:
            return np.zeros(len(vectors))
        touched = np.add.reduceat(np.abs(vectors[:, self._order]) > 1e-9, self._starts, axis=1)
        return (touched > 0) @ self._class_sizes

    def _projections(self, vectors: np.ndarray) -> np.ndarray:
        coefficients = np.atleast_2d(vectors) @ self.basis.T
        return np.einsum("ij,ij->i", coefficients, coefficients)

    def _exposed(self, projections: np.ndarray, norms: np.ndarray, trainees: np.ndarray
                 ) -> bool:
        """Whether any of these vectors touches 1..min_size-1 trainees and is in the row space
        (its projection onto it as long as itself)."""
        if not len(projections):
            return False
        small = (trainees > 0.5) & (trainees < self.min_size - 0.5)
        return bool((small & (projections >= norms * (1 - _TOL) - _TOL)).any())

    def watch(self, vector: np.ndarray) -> None:
        """A set of 1..min_size-1 trainees that must never become derivable."""
        vector = np.asarray(vector, dtype=float)
        if 0 < self.size(vector) < self.min_size:
            self._watched.add(vector, self._projections(vector), [self.size(vector)])

    def watch_differences(self, vectors: np.ndarray) -> int:
        """Watch the difference of every two of these candidate sets (rows) that could both be
        admitted and differ by 1..min_size-1 trainees; how many such pairs there are. (A set
        too small to admit is watched itself.)"""
        vectors = np.asarray(vectors, dtype=float)
        vectors = vectors[vectors @ self.sizes >= self.min_size - 0.5] if len(vectors) else vectors
        if len(vectors) < 2 or not vectors.shape[1]:
            return 0
        weighted = vectors * self.sizes
        sizes = weighted.sum(axis=1)
        same_cycle = weighted @ vectors.T  # trainees counted through the same cycle in both
        per_class = np.minimum(np.add.reduceat(vectors[:, self._order], self._starts, axis=1), 1)
        same_trainee = (per_class * self._class_sizes) @ per_class.T  # ... through any cycle
        differ = sizes[:, None] + sizes[None, :] - same_cycle - same_trainee
        first, second = np.nonzero(np.triu((differ > 0.5) & (differ < self.min_size - 0.5), 1))
        if len(first):
            differences = vectors[first] - vectors[second]
            self._watched.add(differences, self._projections(differences),
                              differ[first, second])
        return len(first)

    def admit(self, key: Hashable, vector: np.ndarray,
              parents: Iterable[tuple[Hashable, Hashable]] = (),
              dimensions: Iterable[Hashable] = ()) -> bool:
        """Admit the set ``key`` if that is safe; ``parents`` are the (admitted set, dimension)
        breakdowns it is a cell of, ``dimensions`` those it can itself be broken down by."""
        vector = np.asarray(vector, dtype=float)
        if self.size(vector) < self.min_size:
            return False
        basis = self.basis
        residual = vector - basis.T @ (basis @ vector)
        residual -= basis.T @ (basis @ residual)  # once more, for rounding
        norm = float(np.linalg.norm(residual))
        new = residual / norm if norm > 1e-9 * max(1.0, float(np.linalg.norm(vector))) else None
        grams = self._blocks.grams
        watched = self._watched.projections
        rests = self._remainders
        rest_projections, rest_norms, rest_trainees = (rests.projections, rests.norms,
                                                       rests.trainees)
        if new is not None:
            grams = self._blocks.added(new)
            if grams is None:
                return False
            watched = watched + (self._watched.vectors @ new) ** 2
            if self._exposed(watched, self._watched.norms, self._watched.trainees):
                return False
            rest_projections = rest_projections + (rests.vectors @ new) ** 2
        # the breakdowns this set is a cell of: their hidden remainders lose it
        changed: dict[int, np.ndarray] = {}
        for parent in parents:
            row = rests.names.get(parent)
            if row is not None:
                changed[row] = changed.get(row, rests.vectors[row]) - vector
        if changed:
            rows = np.fromiter(changed, dtype=int)
            vectors = np.array([changed[row] for row in rows])
            coefficients = vectors @ basis.T
            rest_projections, rest_norms, rest_trainees = (
                rest_projections.copy(), rest_norms.copy(), rest_trainees.copy())
            rest_projections[rows] = np.einsum("ij,ij->i", coefficients, coefficients) + (
                0.0 if new is None else (vectors @ new) ** 2)
            rest_norms[rows] = np.einsum("ij,ij->i", vectors, vectors)
            rest_trainees[rows] = vectors @ self.sizes
        if self._exposed(rest_projections, rest_norms, rest_trainees):
            return False
        # safe: commit
        if new is not None:
            self._basis.append(new)
            self._blocks.grams = grams
        self._watched.projections = watched
        for row, changed_vector in changed.items():
            rests.vectors[row] = changed_vector
        rests.projections, rests.norms, rests.trainees = (rest_projections, rest_norms,
                                                          rest_trainees)
        own = self._projections(vector)
        for dimension in dimensions:
            rests.add(vector, own, [self.size(vector)], (key, dimension))
        self.admitted[key] = vector
        return True
