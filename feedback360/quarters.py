"""Calendar quarters, the periods the leads' time report and the champion's figures and board
reports are chosen by (``2026-Q3``).

Whole quarters and nothing else: quarters never overlap, so two periods' figures share no
contribution and cannot be differenced to isolate anyone (``scoring/breakdowns.py``).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from .services import DomainError

TREND_QUARTERS = 4  # a quarter and up to three before it


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    def __post_init__(self) -> None:
        if not (2000 <= self.year <= 2999 and 1 <= self.number <= 4):
            raise DomainError("Choose a quarter between 2000 and 2999", field="quarter")

    @classmethod
    def containing(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def parse(cls, text: str | None, *, field: str = "quarter") -> Quarter:
        """``2026-Q3`` (as a quarter select sends it); a ``DomainError`` on ``field``."""
        year, _, number = (text or "").strip().upper().partition("-Q")
        if not (year.isdigit() and number.isdigit() and len(year) == 4 and len(number) == 1):
            raise DomainError("Choose a quarter from the list", field=field)
        return cls(int(year), int(number))

    @property
    def starts_on(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def ends_on(self) -> date:
        month = 3 * self.number
        return date(self.year, month, calendar.monthrange(self.year, month)[1])

    def previous(self) -> Quarter:
        return Quarter(self.year, self.number - 1) if self.number > 1 else Quarter(
            self.year - 1, 4)

    def trend(self, count: int = TREND_QUARTERS) -> list[Quarter]:
        """This quarter and the ones before it, oldest first (none before 2000)."""
        quarters = [self]
        while len(quarters) < count and quarters[-1] > Quarter(2000, 1):
            quarters.append(quarters[-1].previous())
        return quarters[::-1]

    @property
    def value(self) -> str:
        return f"{self.year}-Q{self.number}"

    @property
    def label(self) -> str:
        return f"Q{self.number} {self.year} ({self.starts_on:%B} to {self.ends_on:%B})"
