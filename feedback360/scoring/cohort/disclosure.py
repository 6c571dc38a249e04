"""Which sets of trainees a cohort report may describe, decided once for the whole cohort.

The admin may ask for any filter combination, so whatever one query shows, another may show too:
what is publishable must not depend on the question. Every set a report could describe (the whole
selection, every filter combination, every breakdown cell, for every choice of launch) is offered
to :class:`Disclosure` in one fixed order of importance, and admitted only if

* it holds at least ``min_size`` trainees, and
* with the sets admitted before it, nothing small becomes derivable from their sums. A reader who
  knows each shown set's n and mean knows its sum, for any per-trainee quantity (a score, its
  square, an indicator such as "over-rates by a point"), so what can be derived is exactly the
  row space of the admitted sets' membership matrix. Checked are: each single trainee (its unit
  vector lies in the row space exactly when its leverage, the squared norm of its column of an
  orthonormal basis, is 1), each group of trainees no set can tell apart (fewer than
  ``min_size``), each candidate set of 1..min_size-1 trainees, and each admitted set's hidden
  remainder in a breakdown (the set less its admitted cells: complementary suppression).

Trainees enter as *classes*: those every candidate set treats alike (same attributes, same
memberships). Each set is a union of classes, so the matrix has a column per class, not per
trainee, and stays small for thousands of trainees. Pure numpy.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import numpy as np

_TOL = 1e-7


class _Rows:
    """Vectors kept with their squared projections onto the admitted sets' row space."""

    def __init__(self, width: int) -> None:
        self.vectors = np.zeros((0, width))
        self.projections = np.zeros(0)
        self.names: dict[Hashable, int] = {}

    def add(self, vector: np.ndarray, projection: float, name: Hashable | None = None) -> None:
        if name is not None:
            self.names[name] = len(self.projections)
        self.vectors = np.vstack([self.vectors, vector])
        self.projections = np.append(self.projections, projection)


class Disclosure:
    """Greedy admission of sets (class indicator vectors) under the rules of the module."""

    def __init__(self, class_sizes: Iterable[int], min_size: int) -> None:
        self.sizes = np.asarray(list(class_sizes), dtype=float)
        self.min_size = min_size
        width = len(self.sizes)
        self.basis = np.zeros((0, width))
        self.leverage = np.zeros(width)
        self._small_classes = (self.sizes > 0) & (self.sizes < min_size)
        self._watched = _Rows(width)  # small candidate sets, never admitted
        self._remainders = _Rows(width)  # by (admitted set, dimension): the set less its cells
        self.admitted: dict[Hashable, np.ndarray] = {}

    def size(self, vector: np.ndarray) -> int:
        return round(float(vector @ self.sizes))

    def _projection(self, vector: np.ndarray) -> float:
        coefficients = self.basis @ vector
        return float(coefficients @ coefficients)

    def _exposed(self, vectors: np.ndarray, projections: np.ndarray) -> bool:
        """Whether any of these vectors is a small set lying in the row space."""
        if not len(projections):
            return False
        sizes = vectors @ self.sizes
        small = (sizes > 0.5) & (sizes < self.min_size - 0.5)
        norms = np.einsum("ij,ij->i", vectors, vectors)
        return bool((small & (projections >= norms * (1 - _TOL) - _TOL)).any())

    def watch(self, vector: np.ndarray) -> None:
        """A set of 1..min_size-1 trainees that must never become derivable."""
        vector = np.asarray(vector, dtype=float)
        if 0 < self.size(vector) < self.min_size:
            self._watched.add(vector, self._projection(vector))

    def admit(self, key: Hashable, vector: np.ndarray,
              parents: Iterable[tuple[Hashable, Hashable]] = (),
              dimensions: Iterable[Hashable] = ()) -> bool:
        """Admit the set ``key`` if that is safe; ``parents`` are the (admitted set, dimension)
        breakdowns it is a cell of, ``dimensions`` those it can itself be broken down by."""
        vector = np.asarray(vector, dtype=float)
        if self.size(vector) < self.min_size:
            return False
        residual = vector - self.basis.T @ (self.basis @ vector)
        residual -= self.basis.T @ (self.basis @ residual)  # once more, for rounding
        norm = float(np.linalg.norm(residual))
        new = residual / norm if norm > 1e-9 * max(1.0, float(np.linalg.norm(vector))) else None
        basis, leverage = self.basis, self.leverage
        watched = self._watched.projections
        remainders = self._remainders.vectors.copy()
        rest_projections = self._remainders.projections.copy()
        if new is not None:
            basis, leverage = np.vstack([self.basis, new]), self.leverage + new ** 2
            if (leverage[self._small_classes] >= 1 - _TOL).any():
                return False
            watched = watched + (self._watched.vectors @ new) ** 2
            if self._exposed(self._watched.vectors, watched):
                return False
            rest_projections += (remainders @ new) ** 2
        for parent in parents:
            row = self._remainders.names.get(parent)
            if row is not None:
                remainders[row] -= vector
                coefficients = basis @ remainders[row]
                rest_projections[row] = float(coefficients @ coefficients)
        if self._exposed(remainders, rest_projections):
            return False
        # safe: commit
        self.basis, self.leverage = basis, leverage
        self._watched.projections = watched
        self._remainders.vectors, self._remainders.projections = remainders, rest_projections
        own = self._projection(vector)
        for dimension in dimensions:
            self._remainders.add(vector, own, (key, dimension))
        self.admitted[key] = vector
        return True
