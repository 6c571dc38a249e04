"""The trainee's leadership portfolio page (issue 13, point 6), and the coach's read-only view of
an assigned trainee's.

``GET /portfolio`` is the signed-in trainee's own. ``GET /coach/trainees/<id>/portfolio`` is the
same page for a coach assigned to that trainee; any other trainee, or anyone who is not a trainee,
answers 404 as if absent, and other roles get 403. The 360 scores on it are the latest *released*
report's, as that report shows them (``services.portfolio_summary``), so a coach sees nothing they
could not see on the report itself; a coach's view is audited like a report view.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, render_template
from flask_login import current_user
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from .. import audit
from ..authz import role_required
from ..extensions import db
from ..models import User
from ..services import coaching
from ..services.portfolio_summary import LITTLE_ACTIVITIES, PortfolioSummary, summary_for

bp = Blueprint("portfolio", __name__)

# Pages other parts of the portfolio provide, by path: each is linked only once it exists, so
# this page never points at a missing page (endpoint names belong to their blueprints).
SECTIONS = (
    ("activities", "/portfolio/activities", "Activities and education"),
    ("time", "/portfolio/time", "Development time"),
    ("opportunities", "/opportunities", "Leadership opportunities"),
    ("placements", "/portfolio/placements", "My placements"),
    ("evidence", "/portfolio/evidence", "Evidence for your e-portfolio"),
)
# What a coach may follow from a trainee's portfolio (the activities part's read-only view).
COACH_SECTIONS = (("activities", "/coach/trainees/{id}/activities", "Activities and education"),
                  ("time", "/coach/trainees/{id}/time", "Development time"),
                  ("letters", "/trainees/{id}/letters", "Letters of achievement"))


def section_links(sections: tuple[tuple[str, str, str], ...]) -> dict[str, str]:
    """{key: path} of those ``sections`` this app serves."""
    adapter = current_app.url_map.bind("")
    found = {}
    for key, path, _label in sections:
        try:
            adapter.match(path, method="GET")
        except RequestRedirect as redirect:  # served with a trailing slash
            found[key] = urlsplit(redirect.new_url).path
        except HTTPException:  # not found, or not a GET
            continue
        else:
            found[key] = path
    return found


def portfolio_card(user: User) -> PortfolioSummary | None:
    """The summary for the trainee home's card (None for anyone but a trainee)."""
    if not (current_user.is_authenticated and user.role == "trainee"):
        return None
    return summary_for(user, with_recent=False)


def register_portfolio_helpers(app: Flask) -> None:
    app.jinja_env.globals.update(portfolio_card=portfolio_card,
                                 little_activities=LITTLE_ACTIVITIES)


bp.record_once(lambda state: register_portfolio_helpers(state.app))


def _render(trainee: User, viewer: str):  # type: ignore[no-untyped-def]
    summary = summary_for(trainee)
    sections = SECTIONS if viewer == "trainee" else tuple(
        (key, path.format(id=trainee.id), label) for key, path, label in COACH_SECTIONS)
    if db.session.new or db.session.dirty:  # a summary stored for an old released cycle
        db.session.commit()
    # catalogue entries are linked once the catalogue is served (coaches browse it too)
    catalogue = bool(section_links(tuple(s for s in SECTIONS if s[0] == "opportunities")))
    return render_template("portfolio/page.html", summary=summary, viewer=viewer,
                           trainee=trainee, links=section_links(sections),
                           opportunity_links=catalogue,
                           labels={key: label for key, _path, label in sections})


@bp.get("/portfolio", endpoint="mine")
@role_required("trainee")
def mine():  # type: ignore[no-untyped-def]
    return _render(current_user, "trainee")


@bp.get("/coach/trainees/<int:user_id>/portfolio", endpoint="of_trainee")
@role_required("coach")
def of_trainee(user_id: int):  # type: ignore[no-untyped-def]
    trainee = db.get_or_404(User, user_id)
    if trainee.role != "trainee" or not coaching.is_coach_of(current_user, trainee.id):
        abort(404)
    audit.record(current_user, "portfolio.viewed", f"user:{trainee.id}")
    db.session.commit()
    return _render(trainee, "coach")
