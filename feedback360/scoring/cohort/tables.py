"""A CohortReport as spreadsheet tables: one DataFrame per sheet, and their long form for CSV.

Only what the report holds, which is only what may be published: a hidden breakdown cell is
the words "Fewer than 5 trainees" (or why else it is hidden) in every one of its columns.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from .model import CohortReport, ScoreRow

DECIMALS = 4


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)


def report_sheets(report: CohortReport, about: Mapping[str, object]) -> dict[str, pd.DataFrame]:
    """``about``: what the file describes (cohort, filters, when), shown first."""
    sheets = {"About": pd.DataFrame(
        [*about.items(), ("Minimum trainees per figure", report.min_trainees),
         ("Scale", f"{report.scale_min} to {report.scale_max}"),
         ("Note", report.message or "")], columns=["Field", "Value"])}
    shown = report.participation
    if shown is None:
        return sheets
    sheets["Participation"] = pd.DataFrame(
        [(g.label, g.invited, g.completed, g.declined, _round(g.rate))
         for g in (*shown.groups, shown.total)],
        columns=["Rater group", "Invited", "Responded", "Declined", "Response rate"])
    sheets["Trainees"] = pd.DataFrame(
        [("Trainees in the selection", shown.trainees), ("With a closed cycle", shown.launched),
         ("With enough responses to score", shown.scored),
         ("Responses per trainee", _round(shown.responses_per_trainee))],
        columns=["Measure", "Value"])
    if report.scores_shown:
        sheets["Domains and elements"] = _distributions(report)
        sheets["Teaching priorities"] = pd.DataFrame(
            [(kind, rank, row.title, report.domain_titles.get(row.parent or "", ""),
              _round(row.others.mean), row.others.n)
             for kind, rows in (("Weakest", report.weakest), ("Strongest", report.strongest))
             for rank, row in enumerate(rows, start=1)],
            columns=["Kind", "Rank", "Element", "Domain", "Colleagues: mean", "Trainees"])
    if report.perception:
        sheets["Self against others"] = pd.DataFrame(
            [(p.level, p.title, p.n, _round(p.self_mean), _round(p.others_mean), _round(p.gap),
              p.over, p.under) for p in report.perception],
            columns=["Level", "Domain or element", "Trainees", "Self: mean", "Colleagues: mean",
                     "Gap (self minus others)", f"Over-rate by {report.threshold:g}+",
                     f"Under-rate by {report.threshold:g}+"])
    headings = [*report.domains, *report.elements]
    for breakdown in report.breakdowns:
        sheets[f"By {breakdown.title.lower()}"] = pd.DataFrame(
            [(cell.label, cell.n if cell.n is not None else cell.hidden,
              *[_round(cell.mean(h.key)) if cell.n is not None else cell.hidden
                for h in headings]) for cell in breakdown.cells],
            columns=[breakdown.title, "Trainees", *[h.title for h in headings]])
    if report.trend:
        sheets["Trend by intake"] = pd.DataFrame(
            [(p.cohort, p.intake_year, p.n if p.n is not None else p.hidden,
              *[_round(p.means.get(key)) if p.n is not None else p.hidden
                for key in report.domain_titles]) for p in report.trend],
            columns=["Cohort", "Intake year", "Trainees", *report.domain_titles.values()])
    return sheets


def _distributions(report: CohortReport) -> pd.DataFrame:
    def described(row: ScoreRow) -> tuple[object, ...]:
        own = row.own
        return (row.level, report.domain_titles.get(row.parent or row.key, ""), row.title,
                row.others.n, _round(row.others.mean), _round(row.others.sd),
                *row.others.bands, own.n if own else None, _round(own.mean) if own else None,
                _round(own.sd) if own else None)

    return pd.DataFrame(
        [described(row) for row in (*report.domains, *report.elements)],
        columns=["Level", "Domain", "Domain or element", "Trainees", "Colleagues: mean",
                 "Colleagues: standard deviation",
                 *[f"Trainees {label.lower()}" for label in report.band_labels],
                 "Self: trainees", "Self: mean", "Self: standard deviation"])


def long_form(sheets: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Every sheet's cells as rows of (section, row, measure, value): one CSV for them all."""
    rows = []
    for section, frame in sheets.items():
        label = frame.columns[0]
        for record in frame.to_dict("records"):
            for measure, value in record.items():
                if measure != label:
                    rows.append((section, record[label], measure, value))
    return pd.DataFrame(rows, columns=["Section", "Row", "Measure", "Value"])
