"""Demo feedback cycles for ``flask seed-demo``: every cycle state, with believable answers.

Each trainee has a latent profile: a strong and a weak CLCF domain, a blind spot (self about a point
above colleagues) and a hidden strength (colleagues about a point above self). Seniors rate a little
harsher, peers more leniently, and each group says "not observed" more about what it rarely sees.
The services do the work (self-assessment, nominate, launch, submit, decline, close), so responses
are exactly what a real submit makes; then dates move into the past and no mail is ever delivered.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from flask import g

from .. import audit
from ..extensions import db
from ..instruments import Instrument, snapshot
from ..models import CoachAssignment, FeedbackCycle, Invitation, OutboxMessage, User
from ..services import cycles, surveys
from ..services.surveys import Draft
from .audit import with_dated_events

RATER_DOMAINS = ("nhs.example", "demo.feedback360.nhs.uk")


class Spec(NamedTuple):
    state: str  # "draft", "open" or "closed"
    days: int = 0  # closed: days since the closing date; open: days since launch
    answered: int = 0  # closed: 0 picks 10-15
    invited: int = 0  # 0: those who answered, declined or saved a draft, plus 1-3 silent
    instrument: str = "clcf"
    released: bool = False
    halfway: int = 0  # raters with a saved, unsubmitted draft
    declined: int = 0
    self_done: bool = True


PLAN: list[list[Spec]] = [  # one list per trainee, in seed_demo's order, earlier cycles first
    [Spec("closed", 21, instrument="clcf-enhanced")],
    [Spec("closed", 196, released=True), Spec("closed", 14)],
    [Spec("closed", 10, declined=1)],
    [Spec("closed", 210, released=True), Spec("closed", 28, released=True)],  # change shows
    [Spec("open", 12, answered=4, invited=12, declined=1)],
    [Spec("open", 37, answered=11, invited=13)],  # the rule met; closes in five days
    [Spec("open", 16, answered=7, invited=12, halfway=1, instrument="clcf-enhanced")],
    [Spec("draft", invited=4)],
    [Spec("draft", self_done=False)],
    [Spec("closed", 182, released=True), Spec("open", 9, answered=3, invited=12)],
    [Spec("open", 2, answered=1, invited=11)],
    [Spec("closed", 5, answered=10, invited=14, declined=1)],  # only just meets the rule
]

# Where the cohort sits: trainees see, and are seen doing, least of managing services.
COHORT_DOMAIN = {"personal-qualities": 0.15, "working-with-others": 0.2,
                 "managing-services": -0.35, "improving-services": 0.0,
                 "setting-direction": -0.15, "clinical-scientific-expertise": 0.25}
CLCF_DOMAINS = list(COHORT_DOMAIN)[:5]  # the framework's five; the sixth is clcf-enhanced's
GROUP_BIAS = {"supervisor": -0.35, "senior": -0.25, "peer": 0.35, "nursing": 0.15,
              "ahp": 0.05, "management": -0.05, "other": 0.1}
# Chance of "not observed": by group, then element or domain ("" is the group's default).
NOT_SEEN = {
    "supervisor": {"": 0.03}, "other": {"": 0.2},
    "senior": {"": 0.06, "managing-services": 0.12, "encouraging-contribution": 0.15},
    "peer": {"": 0.06, "managing-services": 0.25, "setting-direction": 0.15},
    "nursing": {"": 0.08, "managing-services": 0.3, "setting-direction": 0.25,
                "clinical-scientific-expertise": 0.15, "teams": 0.02, "patient-safety": 0.02},
    "ahp": {"": 0.06, "managing-services": 0.2, "setting-direction": 0.15, "teams": 0.02,
            "patient-safety": 0.03},
    "management": {"": 0.12, "managing-services": 0.03, "patient-safety": 0.3,
                   "critical-evaluation": 0.2, "clinical-scientific-expertise": 0.3}}
CLINIC = {"Audiology", "Cardiac Science"}  # more nurses among their colleagues
PLACES = {"Clinical Biochemistry": "the lab", "Genomics": "the lab", "Audiology": "clinic",
          "Clinical Engineering": "the workshop"}  # otherwise "the department"
FIRST = ("Aisha", "Alex", "Amy", "Anil", "Beth", "Callum", "Chen", "Claire", "David", "Deepa",
         "Eilidh", "Fatima", "Gareth", "Hannah", "Ifeoma", "Joanne", "Kate", "Kofi", "Laura",
         "Mei", "Mohammed", "Niamh", "Oliver", "Priti", "Rachel", "Rhys", "Sian", "Tariq", "Zara")
LAST = ("Adeyemi", "Bennett", "Brown", "Campbell", "Chowdhury", "Davies", "Doyle", "Edwards",
        "Fraser", "Gupta", "Hall", "Hussain", "Jones", "Khan", "Lewis", "Li", "MacDonald", "Malik",
        "Murphy", "Nwosu", "O'Brien", "Owen", "Parry", "Rahman", "Shah", "Singh", "Taylor", "Young")
DECLINE_REASONS = (None, "I have only worked with them for a fortnight, so cannot comment fairly.",
                   "On long-term leave until after the closing date, sorry.")


# Comment banks, a line each: the first two letters of the domain's key ("ge": general, suits
# anyone), then the text, where {name} is the trainee's first name and {place} where they work.
def _bank(text: str) -> dict[str, list[str]]:
    lines = text.strip().splitlines()
    return {key: [line[3:] for line in lines if line[:2] == key[:2]]
            for key in [*COHORT_DOMAIN, "general"]}


STRENGTHS = _bank("""
pe {name} asks how a presentation or handover went and actually acts on what you say.
pe Stays calm and courteous on the busiest days, even when plans change at short notice.
pe Very honest: owned up to a transcription error at once, did the Datix and discussed it at M&M.
pe Treats everyone with the same respect, from the domestic staff to the head of service.
pe Brought a case that went badly to supervision and was open about what to do differently.
pe Goes beyond the curriculum: volunteered for the regional teaching day and journal club.
pe Organised and reliable. Competency sign-offs are booked well ahead and never chased.
wo Excellent handover. I can pick up {name}'s work next morning without ringing anyone.
wo First to offer help when we are short-staffed, even when it means staying late.
wo At the MDT {name} asked the junior nurse for her view before giving their own.
wo Has built real links with the ward teams, so queries get sorted first time.
wo Always credits others: named every contributor when our audit went to the regional day.
wo Listened to everyone during the rota disagreement and found a compromise that stuck.
wo Knows who to ring in other departments to chase an urgent result or a delayed referral.
wo On ward rounds {name} makes sure the nurses' concerns are heard before decisions are made.
ma Planned the re-audit meticulously, with clear deadlines for each of us, and delivered it.
ma Spotted the leave clash on the rota weeks ahead and sorted it before it hit the service.
ma Challenged unnecessary repeat requests and cut our consumables spend noticeably.
ma When delegating, clear about what is needed and by when, and always says thank you.
ma Keeps an action log from team meetings and follows each action up until it is done.
ma Used turnaround-time data to show where the bottleneck in {place} was.
im Reports incidents and near misses on Datix promptly and encourages others to do the same.
im Spoke up at the MDT when a result did not fit the plan. Absolutely the right call.
im {name}'s QI project has made a real, measurable difference to how {place} runs.
im Asks good 'why do we do it this way?' questions without ever sounding critical.
im Led the go-live of the new IT system, wrote a quick guide and helped everyone through it.
im Their audit against the national guideline was thorough and changed our practice.
im Explains why a change is needed rather than just announcing it, so the team comes along.
se Keeps up with new national guidance and is often the one who tells us what has changed.
se Makes the case with data rather than opinion; the equipment business case was excellent.
se Makes timely decisions within their remit and explains the reasoning to those affected.
se Thought through the knock-on effect on outpatients before changing the booking system.
se Re-audited after the change to check it had actually worked, which many people forget.
se Shared the audit results with the people who could act on them, not just the department.
cl Gives clear, accurate advice when the ward rings with a query, and knows their limits.
cl Puts results in the context of the patient in front of them, not just the numbers.
cl Never cuts corners on QC or equipment checks, and acts quickly when something looks off.
cl A natural teacher: the students who rotate through {place} ask to shadow {name}.
cl Explains results to patients in plain English and checks they have understood.
ge Reliable, thoughtful and well respected across the team.
ge Already working at a level I would expect from someone much further on in training.
ge Consistently good across the board. Nothing to add beyond the scores.
""")
DEVELOPMENT = _bank("""
pe Ask for feedback more often, rather than waiting for the formal review points.
pe Under pressure {name} can come across as curt with junior staff. Worth being aware of.
pe Tends to take on too much and then rush at the end. Saying no occasionally would help.
pe Reflect on what has not gone well rather than moving straight on to the next thing.
pe Could be more open about uncertainty: 'I don't know, I'll find out' is fine.
pe Look beyond the curriculum: shadow the service manager or sit on an interview panel.
wo Handovers could be more structured; SBAR would help colleagues pick up work safely.
wo Quite quiet in MDT meetings. Their view is valuable and I would like to hear it more.
wo Get to know colleagues outside {place}; links with the wards would make queries easier.
wo Disagreements sometimes become a standoff. Look for the common ground first.
wo Involve junior members of the team rather than doing it yourself because it's quicker.
wo Sometimes interrupts before others have finished. Listening fully first would help.
wo On busy days, look up from your own list and check whether colleagues need a hand.
ma Plan projects realistically: the audit slipped two months as data collection began late.
ma Rota swaps and leave requests are often last-minute, which puts pressure on the team.
ma When delegating, be clearer about what is needed and by when; tasks have slipped.
ma Follow up actions from team meetings; several were still open at the next meeting.
ma Ask the training officer for time with the service manager to learn budgets and staffing.
ma Give students and support staff more feedback, both positive and constructive.
ma Weigh cost as well as benefit: the proposal for new kit ignored the running costs.
ma Try chairing the team meeting to practise keeping to time and agreeing actions.
im Report near misses on Datix rather than just sorting the problem and moving on.
im Good ideas for improvement, mentioned in passing. Write one up as a QI project.
im Speak up when something does not look right, even if a senior colleague is leading.
im Question established practice more: 'we have always done it this way' is not a reason.
im Explain to the wider team why the new process was changing; it caught people out.
im Escalate concerns through the right route and in good time, not to whoever is nearest.
se Back up suggestions with data; arguments are sometimes opinion rather than evidence.
se Keep more up to date with national developments and guidance affecting the service.
se Hesitates over decisions within their own remit. Trust your judgement more.
se Explain the reasoning behind decisions; the template change surprised the admin team.
se After a change, go back and check it worked: the QI project stopped at implementation.
se Share your audit results more widely, e.g. at the regional network meeting.
cl Be more confident advising the clinical teams; {name} knows more than they think.
cl Tie result interpretation to the patient's wider clinical picture to make advice useful.
cl Take more opportunities to teach students and new starters.
cl Avoid jargon when explaining findings to patients, and check they have understood.
ge Look for a leadership opportunity that stretches you, such as leading a small project.
ge Hard to suggest much. Perhaps take on a formal role such as trainee rep.
""")


class Profile:
    """What a trainee is really like, drawn from the trainee's own seed."""

    def __init__(self, rng: random.Random, year: int) -> None:
        self.rng, self.effects = rng, dict[str, float]()
        self.strong, self.weak, self.blind, self.hidden = rng.sample(CLCF_DOMAINS, 4)
        self.level = 3.3 + 0.15 * (year - 1) + rng.gauss(0, 0.15)
        self.self_bias = rng.gauss(-0.1, 0.15)

    def _effect(self, key: str, sd: float, base: float = 0.0) -> float:
        if key not in self.effects:  # drawn once, the first time it is needed
            self.effects[key] = base + self.rng.gauss(0, sd)
        return self.effects[key]

    def true_score(self, instrument: Instrument, item: str, cycle_no: int) -> float:
        domain, element = instrument.domain_of_item(item).key, instrument.element_of_item(item).key
        base = COHORT_DOMAIN.get(domain, 0.0) + 0.55 * (domain == self.strong) \
            - 0.6 * (domain == self.weak) - 0.45 * (domain == self.blind)
        grown = 0.15 * cycle_no + 0.4 * cycle_no * (domain == self.weak)  # acted on feedback
        return (self.level + self._effect(domain, 0.15, base) + self._effect(element, 0.25)
                + self._effect(item, 0.15) + grown)

    def self_gap(self, domain: str, cycle_no: int) -> float:
        return self.self_bias + (1.5 - 0.7 * cycle_no) * (domain == self.blind) \
            - 1.15 * (domain == self.hidden)


def _answers(instrument: Instrument, profile: Profile, rng: random.Random, cycle_no: int,
             group: str | None) -> dict[str, int | None]:
    """One response's scores; ``group`` None is the self-assessment (it rates everything)."""
    answers: dict[str, int | None] = {}
    leniency = rng.gauss(0, 0.3) if group else 0.0
    for item in instrument.item_keys:
        value = profile.true_score(instrument, item, cycle_no)
        domain, element = instrument.domain_of_item(item).key, instrument.element_of_item(item).key
        if group is None:
            value += profile.self_gap(domain, cycle_no) + rng.gauss(0, 0.35)
        else:
            seen = NOT_SEEN[group]
            if rng.random() < seen.get(element, seen.get(domain, seen[""])):
                answers[item] = None
                continue
            value += GROUP_BIAS[group] + leniency + rng.gauss(0, 0.55)
        answers[item] = min(5, max(1, round(value)))
    missing = [key for key, score in answers.items() if score is None]
    for key in rng.sample(missing, max(0, len(missing) - len(answers) * 2 // 5)):
        answers[key] = min(5, max(1, round(profile.true_score(instrument, key, cycle_no))))
    return answers  # at least 60% rated: a useful response rates most of what it is asked


def _comments(instrument: Instrument, answers: dict[str, int | None], rng: random.Random,
              used: set[str], fill: dict[str, str]) -> dict[str, str]:
    """About half of raters comment, on what they rated highest (strengths) or lowest."""
    if rng.random() > 0.55:
        return {}
    rated = {d.key: [s for i in d.items if (s := answers.get(i.key)) is not None]
             for d in instrument.domains}
    means = {key: sum(scores) / len(scores) for key, scores in rated.items() if scores}
    overall = sum(means.values()) / len(means)
    comments: dict[str, str] = {}
    for key, bank, sign, chance in (("strengths", STRENGTHS, 1, 0.85),
                                    ("development", DEVELOPMENT, -1, 0.65)):
        if rng.random() > chance and (comments or key == "strengths"):
            continue
        weights = {d: math.exp(sign * 2.5 * (m - overall)) for d, m in means.items()} \
            | {"general": 0.3}
        weights = {d: w for d, w in weights.items() if set(bank.get(d, ())) - used}
        if weights:
            domain = rng.choices(list(weights), list(weights.values()))[0]
            text = rng.choice(sorted(set(bank[domain]) - used))
            used.add(text)
            comments[key] = text.format(**fill)
    return comments


def _groups(rng: random.Random, n: int, specialty: str | None, *, core: bool = True) -> list[str]:
    """``n`` rater groups; ``core``: the supervisor and a senior among four to six groups."""
    weights = {"senior": 1.2, "peer": 3, "nursing": 3 if specialty in CLINIC else 1, "ahp": 3,
               "management": 1.5, "other": 0.7}
    while True:
        picked = rng.choices(list(weights), list(weights.values()), k=n - 2 * core)
        picked = ["supervisor", "senior", *picked] if core else picked
        if not core or 4 <= len(set(picked)) <= 6:
            return picked


class _People(dict[str, list[tuple[str, str]]]):
    """The trainee's colleagues by group, the same in each of their cycles."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng, self.names = rng, iter(rng.sample([(f, s) for f in FIRST for s in LAST], 80))

    def nth(self, group: str, index: int) -> tuple[str, str]:
        people = self.setdefault(group, [])
        while len(people) <= index:
            (first, last), domain = next(self.names), self.rng.choice(RATER_DOMAINS)
            title = "Dr " if group in ("supervisor", "senior") and self.rng.random() < 0.6 else ""
            email = f"{first}.{last}@{domain}".lower().replace("'", "")
            people.append((f"{title}{first} {last}", email))
        return people[index]


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def _build_cycle(trainee: User, spec: Spec, cycle_no: int, profile: Profile, people: _People,
                 rng: random.Random, coach: User | None, instruments: dict[str, Instrument]
                 ) -> tuple[str, dict[str, datetime]]:
    now, today = datetime.now(UTC), cycles.today()
    if spec.state == "closed":
        closes_on = today - timedelta(days=spec.days)
        opens_on = closes_on - timedelta(days=rng.choice((35, 42)))
    else:
        opens_on = today - timedelta(days=spec.days)
        closes_on = opens_on + timedelta(days=42)
    # What cycles.create_cycle does, minus re-reading every YAML file (~130 ms) per cycle.
    instrument = instruments.get(spec.instrument) or instruments["clcf"]
    cycle = FeedbackCycle(trainee=trainee, instrument_version=snapshot(instrument),
                          title=f"Leadership feedback, {opens_on:%B %Y}",
                          closes_on=today + timedelta(weeks=cycles.DEFAULT_WEEKS_OPEN))
    db.session.add(cycle)
    db.session.flush()
    audit.record(trainee, "cycle.created", f"cycle:{cycle.id}")
    cycle.created_at = (now if spec.state == "draft" else _at(opens_on, 8)) \
        - timedelta(days=rng.randint(1, 5), minutes=rng.randint(0, 600))
    when = {"cycle.created": cycle.created_at}
    if spec.self_done:
        cycle.self_draft = Draft(_answers(instrument, profile, rng, cycle_no, None), {}).dump()
        surveys.submit_self_assessment(cycle)
    answered = spec.answered or rng.randint(10, 15)
    invited = spec.invited or answered + spec.declined + spec.halfway + rng.randint(1, 3)
    if spec.state == "draft":
        groups = _groups(rng, 6, trainee.specialty)[:spec.invited]
    elif answered >= 10:  # enough have answered, seniors among them
        groups = _groups(rng, answered, trainee.specialty)
        groups += _groups(rng, invited - answered, trainee.specialty, core=False)
    else:  # partway: whoever happened to answer first
        groups = _groups(rng, invited, trainee.specialty)
        rng.shuffle(groups)
    invitations = [cycles.nominate(cycle, name=name, email=email, group=group)
                   for i, group in enumerate(groups)
                   for name, email in [people.nth(group, groups[:i].count(group))]]
    if spec.state != "draft":
        when["cycle.launched"] = _launch(cycle, instrument, invitations, spec, answered,
                                         cycle_no, profile, rng, opens_on, closes_on)
    if spec.state == "closed":
        cycles.close_cycle(cycle, by=None)  # as close-due-cycles does, the morning after
        cycle.closed_at = when["cycle.closed"] = min(
            _at(closes_on + timedelta(days=1), 2, rng.randint(0, 20)), now)
        if spec.released and coach is not None:
            cycle.status, cycle.released_by_id = "released", coach.id
            cycle.released_at = min(cycle.closed_at + timedelta(days=rng.randint(8, 20),
                                                                hours=rng.randint(1, 8)), now)
    db.session.flush()
    return f"cycle:{cycle.id}", when


def _launch(cycle: FeedbackCycle, instrument: Instrument, invitations: list[Invitation],
            spec: Spec, answered: int, cycle_no: int, profile: Profile, rng: random.Random,
            opens_on: date, closes_on: date) -> datetime:
    """Launch (its mail marked sent, never delivered), then the raters answer or not."""
    before = len(queued := g.setdefault("outbox_queued", []))
    cycles.launch(cycle)
    opened_at = min(_at(opens_on, 8, rng.randint(0, 59)) + timedelta(hours=rng.randint(0, 9)),
                    datetime.now(UTC))
    mail_ids, queued[before:] = queued[before:], []
    db.session.execute(db.update(OutboxMessage).where(OutboxMessage.id.in_(mail_ids)).values(
        status="sent", attempts=1, created_at=opened_at, next_attempt_at=opened_at,
        sent_at=opened_at + timedelta(seconds=20)))
    fill = {"name": cycle.trainee.name.split()[0],
            "place": PLACES.get(cycle.trainee.specialty or "", "the department")}
    last_day, used = min(closes_on, cycles.today()), set[str]()
    first_pages = {item.key for domain in instrument.domains[:2] for item in domain.items}
    for index, invitation in enumerate(invitations):
        invitation.last_sent_at = opened_at
        answers = _answers(instrument, profile, rng, cycle_no, invitation.rater_group)
        if index < answered:
            surveys.mark_opened(invitation)
            surveys.keep_draft(invitation, Draft(answers, _comments(instrument, answers, rng,
                                                                    used, fill)))
            surveys.submit_invitation(invitation.id, invitation.token_nonce)
            delay = min(int(rng.expovariate(1 / 6)), (last_day - opens_on).days)
            invitation.completed_on = opens_on + timedelta(days=delay)  # a day, never a time
        elif index < answered + spec.halfway:  # stopped after the first two pages
            surveys.mark_opened(invitation)
            surveys.keep_draft(invitation, Draft(
                {k: v for k, v in answers.items() if k in first_pages}, {}))
        elif index < answered + spec.halfway + spec.declined:
            surveys.decline(invitation, rng.choice(DECLINE_REASONS))
        elif rng.random() < 0.4:
            surveys.mark_opened(invitation)  # looked, never answered
    cycle.opens_on, cycle.opened_at, cycle.closes_on = opens_on, opened_at, closes_on
    return opened_at


def seed_demo_cycles(trainees: list[User], coaches: list[User], rng_seed: int = 2026,
                     plan: list[list[Spec]] = PLAN) -> None:
    """Give each trainee who has no cycle yet the cycles of their place in ``plan``; flushes."""
    db.session.flush()
    has_cycles = set(db.session.scalars(db.select(FeedbackCycle.trainee_id).where(
        FeedbackCycle.trainee_id.in_([t.id for t in trainees]))))
    instruments = cycles.available_instruments()
    for index, trainee in enumerate(trainees):
        if trainee.id in has_cycles:
            continue
        # Seeded per trainee: one trainee's data never depends on who was seeded before.
        rng = random.Random(f"{rng_seed}:{trainee.email}")  # noqa: S311 (demo data, not secrets)
        profile = Profile(random.Random(f"{rng_seed}:profile:{trainee.email}"),  # noqa: S311
                          trainee.training_year or 1)
        coach_id = db.session.scalar(db.select(CoachAssignment.coach_id).where(
            CoachAssignment.trainee_id == trainee.id))
        coach = next((c for c in coaches if c.id == coach_id),
                     coaches[index % len(coaches)] if coaches else None)
        people = _People(rng)
        for cycle_no, spec in enumerate(plan[index % len(plan)]):
            with_dated_events(_build_cycle, trainee, spec, cycle_no, profile, people, rng,
                              coach, instruments)
