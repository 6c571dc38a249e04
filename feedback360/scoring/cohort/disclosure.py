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


class Disclosure:
    """Greedy admission of sets (class indicator vectors) under the rules of the module."""

    def __init__(self, class_sizes: Iterable[int], min_size: int) -> None:
        self.sizes = np.asarray(list(class_sizes), dtype=float)
        self.min_size = min_size
        self.basis = np.zeros((0, len(self.sizes)))
        self.leverage = np.zeros(len(self.sizes))
        self._small_classes = (self.sizes > 0) & (self.sizes < min_size)
        self._watched: list[np.ndarray] = []  # small candidate sets, never admitted
        self._watched_projection: list[float] = []
        # (set key, dimension) -> [remainder vector, its squared projection]
        self._remainders: dict[tuple[Hashable, Hashable], list[object]] = {}
        self.admitted: dict[Hashable, np.ndarray] = {}

    def size(self, vector: np.ndarray) -> int:
        return round(float(vector @ self.sizes))

    def _projection(self, vector: np.ndarray) -> float:
        coefficients = self.basis @ vector
        return float(coefficients @ coefficients)

    def _small(self, vector: np.ndarray) -> bool:
        return 0 < self.size(vector) < self.min_size

    @staticmethod
    def _spanned(vector: np.ndarray, projection: float) -> bool:
        return projection >= float(vector @ vector) * (1 - _TOL) - _TOL

    def watch(self, vector: np.ndarray) -> None:
        """A set of 1..min_size-1 trainees that must never become derivable."""
        vector = np.asarray(vector, dtype=float)
        if self._small(vector):
            self._watched.append(vector)
            self._watched_projection.append(self._projection(vector))

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

        def gained(projection: float, other: np.ndarray) -> float:
            return projection + (float(other @ new) ** 2 if new is not None else 0.0)

        if new is not None:
            leverage = self.leverage + new ** 2
            if (leverage[self._small_classes] >= 1 - _TOL).any():
                return False
            watched = [gained(p, w) for p, w in zip(self._watched_projection, self._watched,
                                                    strict=True)]
            if any(self._spanned(w, p) for w, p in zip(self._watched, watched, strict=True)):
                return False
        remainders: dict[tuple[Hashable, Hashable], list[object]] = {}
        for name, (rest, projection) in self._remainders.items():
            remainders[name] = [rest, gained(projection, rest)]  # type: ignore[arg-type]
        basis = self.basis if new is None else np.vstack([self.basis, new])
        for parent in parents:
            if parent in remainders:
                rest = remainders[parent][0] - vector  # type: ignore[operator]
                coefficients = basis @ rest
                remainders[parent] = [rest, float(coefficients @ coefficients)]
        if any(self._small(rest) and self._spanned(rest, projection)  # type: ignore[arg-type]
               for rest, projection in remainders.values()):
            return False
        # safe: commit
        if new is not None:
            self.basis, self.leverage = basis, leverage
            self._watched_projection = watched
        self._remainders = remainders
        for dimension in dimensions:
            self._remainders[key, dimension] = [vector, self._projection(vector)]
        self.admitted[key] = vector
        return True
