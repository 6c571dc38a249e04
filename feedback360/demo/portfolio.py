"""Demo leadership portfolios for ``flask seed-demo`` (issue 13, point 8).

A small catalogue (only when the catalogue has no open entry yet: the real one comes from
``seed-opportunities``), then for a few of the current intake: leadership activities and
education, written feedback given, waiting and declined, protected time used and time that was not
available, and one issued letter of achievement. The rest of the intake has an empty portfolio,
so its empty state shows too.

Ben Hughes logs nothing in the domain colleagues rated lowest in his released report, so his
portfolio and home show the gap message with open opportunities; Daniel Kowalski's is the full
one, with the letter. Running it again changes nothing: it stops once any demo trainee has an
activity.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from ..extensions import db
from ..models import (
    Activity,
    ActivityElement,
    ActivityFeedbackRequest,
    CoachAssignment,
    LeadershipOpportunity,
    OpportunityElement,
    TimeReport,
    User,
)
from ..services import cycles, letters
from ..services.clcf_framework import elements_by_key
from ..services.portfolio_summary import summary_for

# (key, title, kind, elements, how to get involved): examples from the FMLM appendix.
CATALOGUE = [
    ("demo-quality-safety", "Chair the Quality & Safety of Care meeting", "chairing",
     ["patient-safety", "encouraging-contribution"],
     "Ask the governance lead to add you to the rota of trainee chairs."),
    ("demo-mortality", "Present at the Morbidity & Mortality meeting", "meeting",
     ["critical-evaluation", "patient-safety"],
     "Offer a case to the meeting's organiser a month ahead."),
    ("demo-risk", "Attend the risk management meeting", "meeting",
     ["resources", "performance"], "Email the risk manager; trainees may observe any month."),
    ("demo-panel-chief-registrar", "Sit on the interview panel for the Chief Registrar",
     "interview_panel", ["people", "planning"],
     "Panels are advertised in the trainee bulletin; training is given first."),
    ("demo-shadow-medical-director", "Shadow the Medical Director for a day", "shadowing",
     ["contexts-for-change", "decisions"], "Book through the Medical Director's office."),
    ("demo-transformation", "Join a transformation project group", "project",
     ["transformation", "improvement-innovation"],
     "Projects that change trainees' work want a trainee on the group."),
    ("demo-supervisor-training", "Take the local educational supervisor training",
     "training_role", ["personal-development", "teams"],
     "Two half-days each term; ask your programme lead for a place."),
    ("demo-ics", "Attend the Integrated Care System meeting", "meeting",
     ["contexts-for-change", "impact"], "A trainee may observe; ask the clinical lead."),
    ("demo-budget", "Observe the directorate budget meeting", "meeting",
     ["resources", "planning"], "Ask the directorate manager."),
]

# (title, category, elements, days ago, hours, what they did, went well, do differently)
DOING = [
    ("Chaired the department's monthly audit meeting", "chairing",
     ["teams", "encouraging-contribution"], 160, 3,
     "Set the agenda with the audit lead, chaired six presentations and kept the actions list.",
     "Everyone who presented got a question; we finished on time.",
     "Send the papers a week ahead, not two days."),
    ("Presented a near miss at the Morbidity & Mortality meeting", "meeting",
     ["patient-safety", "critical-evaluation"], 120, 4,
     "Wrote up a labelling near miss and proposed a double-check at booking in.",
     "The change was agreed at the meeting.", "Bring the data from the other sites too."),
    ("Sat on the interview panel for a band 6 clinical scientist", "interview_panel",
     ["people", "integrity"], 95, 6,
     "Scored candidates against the person specification with two consultants.",
     "I asked the question about teamwork and kept to the scoring scheme.",
     "Read the applications the day before, not that morning."),
    ("Led a quality improvement project on turnaround times", "qi_project",
     ["improvement-innovation", "performance", "planning"], 75, 20,
     "Measured turnaround for eight weeks, ran two PDSA cycles with the reception team.",
     "Median turnaround fell from 52 to 38 hours.", "Involve the night shift from the start."),
    ("Taught the new trainees the department's safety checks", "teaching",
     ["relationships", "managing-yourself"], 40, 2,
     "Planned and gave a one-hour session, with a quiz at the end.",
     "Good questions; the quiz showed what had not landed.", "Shorter slides, more cases."),
    ("Joined the Trust's digital pathology transformation group", "committee",
     ["transformation", "networks"], 20, 5,
     "Represent trainees on the group; reported back at the trainee forum.",
     "Raised the training time the new system needs.", "Prepare one clear ask per meeting."),
]
EDUCATION = [
    ("Completed the Edward Jenner leadership programme", "course",
     ["self-awareness", "personal-development"], 200, 12),
    ("Observed the Medical Director's executive team meeting", "observation",
     ["contexts-for-change", "decisions"], 60, 3),
    ("Read “Leadership and Leadership Development in Health Care” (The King's Fund)", "reading",
     ["knowledge-evidence", "impact"], 30, 4),
]
OBSERVERS = [("Dr Sarah Whitfield", "sarah.whitfield", "Consultant Clinical Scientist"),
             ("Mark Donnelly", "mark.donnelly", "Quality Improvement Lead"),
             ("Dr Aisha Rahman", "aisha.rahman", "Head of Department")]
OBSERVER_DOMAIN = "nhs.example"


class Plan(NamedTuple):
    doing: tuple[int, ...]  # indexes into DOING
    education: tuple[int, ...]  # indexes into EDUCATION
    feedback: tuple[tuple[int, str], ...]  # (index into doing, status)
    used: tuple[int, ...]  # hours of protected time used, one report each
    unavailable: tuple[str, ...]  # reasons time was not available, one report each
    letter: bool = False


# By trainee name (demo.TRAINEES); everyone else's portfolio is empty.
PLANS = {
    "Daniel Kowalski": Plan((0, 1, 2, 3, 5), (0, 2), ((3, "given"), (1, "given"), (2, "sent"),
                                                        (0, "declined")),
                            (4, 3.5, 6), ("rota", "service_pressure"), letter=True),
    "Ben Hughes": Plan((0, 4), (1,), ((0, "given"), (4, "opened")), (3,), ("leave_refused",)),
    "Jasmine Clarke": Plan((1, 3), (2,), ((1, "sent"),), (), ("rota",)),
    "Amara Okafor": Plan((), (0,), (), (2,), ()),
}
UNAVAILABLE = {
    "rota": ("Half-day of protected leadership time", "Rota gap: covered the on-call bleep."),
    "service_pressure": ("Morning at the transformation group",
                         "Winter pressures: the lab was two scientists short."),
    "leave_refused": ("Study leave for the regional leadership day",
                      "Leave was refused at short notice."),
}
FEEDBACK_TEXT = {
    "overall": "A confident, well-prepared piece of leadership: people followed because the "
               "reasons were clear. Keep volunteering for this kind of role.",
    "element": "I saw this clearly: you listened first, then summarised what the group had "
               "agreed and who would do what.",
}


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def _elements(keys: list[str], row: type[ActivityElement] | type[OpportunityElement],
              ) -> list[ActivityElement] | list[OpportunityElement]:
    known = elements_by_key()
    return [row(element_key=key, domain_key=known[key].domain_key) for key in keys]


def _catalogue() -> list[LeadershipOpportunity]:
    """The open catalogue entries; a few from the FMLM appendix when there are none."""
    if db.session.scalar(db.select(LeadershipOpportunity.id)
                         .where(LeadershipOpportunity.status == "open").limit(1)) is None:
        for key, title, kind, elements, how in CATALOGUE:
            if db.session.scalar(db.select(LeadershipOpportunity.id)
                                 .where(LeadershipOpportunity.key == key)) is None:
                db.session.add(LeadershipOpportunity(
                    key=key, title=title, kind=kind, status="open", how_to_join=how,
                    contact="Medical Education Office", elements=_elements(elements,
                                                                          OpportunityElement)))
        db.session.flush()
    return list(db.session.scalars(db.select(LeadershipOpportunity)
                                   .where(LeadershipOpportunity.status == "open")))


def _avoiding(trainee: User, indexes: tuple[int, ...]) -> tuple[int, ...]:
    """``indexes`` without the activities in the domain colleagues rated lowest, so the gap
    shows."""
    lowest = min((d for d in summary_for(trainee).domains if d.others_mean is not None),
                 key=lambda d: d.others_mean or 0, default=None)
    if lowest is None:
        return indexes
    known = elements_by_key()
    return tuple(i for i in indexes
                 if all(known[key].domain_key != lowest.key for key in DOING[i][2]))


def _request(activity: Activity, number: int, status: str, done: date) -> None:
    name, local, role = OBSERVERS[number % len(OBSERVERS)]
    keys = [element.element_key for element in activity.elements][:2]
    asked = _at(done + timedelta(days=2))
    request = ActivityFeedbackRequest(
        observer_name=name, observer_email=f"{local}@{OBSERVER_DOMAIN}", observer_role=role,
        message="I would value your written feedback on this: you were there.",
        element_keys=keys, token_nonce=secrets.token_hex(16), status=status,
        created_at=asked, sent_at=asked)
    if status in ("opened", "given"):
        request.opened_at = asked + timedelta(days=1)
    if status == "opened":
        request.saved_at = request.opened_at
        request.answers = {keys[0]: FEEDBACK_TEXT["element"]}
    if status == "given":
        request.answers = dict.fromkeys(keys, FEEDBACK_TEXT["element"])
        request.overall = FEEDBACK_TEXT["overall"]
        request.given_at = asked + timedelta(days=4)
    if status == "declined":
        request.declined_at = asked + timedelta(days=3)
        request.decline_reason = "I was on leave that week, so I did not see it."
    activity.feedback_requests.append(request)


def _portfolio(trainee: User, plan: Plan, today: date) -> list[Activity]:
    doing = []
    for index in _avoiding(trainee, plan.doing) if not plan.letter else plan.doing:
        title, category, elements, days, hours, what, well, differently = DOING[index]
        started = today - timedelta(days=days)
        activity = Activity(
            trainee=trainee, kind="doing", category=category, title=title, description=what,
            started_on=started, ended_on=started + timedelta(days=1 if hours > 10 else 0),
            hours=hours, went_well=well, do_differently=differently,
            elements=_elements(elements, ActivityElement), created_at=_at(started, 17))
        db.session.add(activity)
        doing.append((index, activity))
    for index in plan.education:
        title, category, elements, days, hours = EDUCATION[index]
        started = today - timedelta(days=days)
        db.session.add(Activity(
            trainee=trainee, kind="education", category=category, title=title,
            description="Notes and reflections kept in my learning log.", started_on=started,
            hours=hours, elements=_elements(elements, ActivityElement),
            created_at=_at(started, 17)))
    by_index = dict(doing)
    for number, (index, status) in enumerate(plan.feedback):
        if index in by_index:
            _request(by_index[index], number, status, by_index[index].started_on)
    for number, hours in enumerate(plan.used):
        db.session.add(TimeReport(
            trainee=trainee, kind="used", occurred_on=today - timedelta(days=14 + 21 * number),
            hours=hours, description="Protected development time: project work and reading.",
            site=trainee.site, specialty=trainee.specialty))
    for number, reason in enumerate(plan.unavailable):
        lost, why = UNAVAILABLE[reason]
        db.session.add(TimeReport(
            trainee=trainee, kind="unavailable",
            occurred_on=today - timedelta(days=9 + 30 * number),
            hours=3.5, description=lost, reason=reason, reason_detail=why,
            site=trainee.site, specialty=trainee.specialty))
    db.session.flush()
    return [activity for _index, activity in doing]


def _letter(trainee: User, coach: User, activities: list[Activity], today: date) -> None:
    """One letter, issued as a coach issues one (``services/letters``), dated a week ago, by the
    trainee's own coach when they have one."""
    coach = db.session.scalar(db.select(User).join(
        CoachAssignment, CoachAssignment.coach_id == User.id).where(
        CoachAssignment.trainee_id == trainee.id)) or coach
    given = [activity.id for activity in activities
             if any(request.status == "given" for request in activity.feedback_requests)]
    letter = letters.issue(
        trainee, activity_ids=given, by=coach,
        title="Letter of achievement: leading improvement in the laboratory",
        citation=f"{trainee.name} led a quality improvement project that cut turnaround times "
                 "by a quarter, and brought a near miss to the department's Morbidity & "
                 "Mortality meeting with a change that was adopted.")
    letter.issued_at = _at(today - timedelta(days=7))
    letter.content = {**letter.content, "issued_on": letter.issued_at.date().isoformat()}


def seed_demo_portfolio(trainees: list[User], coaches: list[User]) -> None:
    """Catalogue and portfolios for the demo; nothing if any demo trainee has an activity."""
    today = cycles.today()
    if db.session.scalar(db.select(Activity.id).where(
            Activity.trainee_id.in_([t.id for t in trainees])).limit(1)) is not None:
        return
    _catalogue()
    by_name = {trainee.name: trainee for trainee in trainees}
    for index, (name, plan) in enumerate(PLANS.items()):
        trainee = by_name.get(name)
        if trainee is None:
            continue
        activities = _portfolio(trainee, plan, today)
        if plan.letter:
            _letter(trainee, coaches[index % len(coaches)], activities, today)
    db.session.flush()
