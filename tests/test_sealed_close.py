"""Closing a cycle writes its sealed responses out: the same report as answers written plainly,
and a close that fails halfway (a database error, a killed process) leaves the cycle wholly
sealed and open, with the next run finishing it and every response there exactly once."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
from helpers import add_sealed_response
from test_scheduled_commands import NOMINEES
from test_survey import RATERS, answer_all, launch_cycle, open_link
from test_survey_integrity import race, wide_pool_app

from feedback360.extensions import db
from feedback360.models import (
    Answer,
    Comment,
    FeedbackCycle,
    Invitation,
    Response,
    SealedResponse,
    User,
)
from feedback360.services import cycles, summaries, surveys, unsealing
from feedback360.services.instrument_cache import instrument_for

GROUPS = ["supervisor", "senior", "peer", "peer", "peer", "nursing", "nursing", "ahp",
          "management", "other", "peer", "senior"]


def open_cycles(app, make_user, count: int) -> list[int]:
    """``count`` launched cycles (one trainee each), closing in 20 days."""
    ids = []
    with app.test_request_context():
        for n in range(count):
            trainee = db.session.get(User, make_user(f"trainee{n}@nhs.net").id)
            cycle = cycles.create_cycle(trainee, instrument_key="clcf", title=f"Cycle {n}",
                                        closes_on=cycles.today() + timedelta(days=20))
            for name, email, group in NOMINEES:
                cycles.nominate(cycle, name=name, email=email, group=group)
            cycles.launch(cycle)
            ids.append(cycle.id)
        db.session.commit()
    return ids


def rater_answers(app, cycle_id: int, seed: int) -> list[tuple[str, dict, dict]]:
    """Believable, varied answers: "not observed" among them, comments from some raters."""
    rng = random.Random(seed)
    with app.app_context():
        items = instrument_for(db.session.get(FeedbackCycle, cycle_id)).item_keys
    raters = []
    for n, group in enumerate(GROUPS):
        answers = {key: (None if rng.random() < 0.15 else rng.randint(1, 5)) for key in items}
        comments = {"strengths": f"Cycle {cycle_id}, rater {n}: steady."} if n % 3 else {}
        raters.append((group, answers, comments))
    return raters


def seal_all(app, cycle_id: int, raters) -> None:
    with app.app_context():
        for group, answers, comments in raters:
            add_sealed_response(cycle_id, group, answers, comments)
        db.session.commit()


def write_plainly(app, cycle_id: int, raters) -> None:
    """The rows as submitting wrote them before answers were sealed."""
    with app.app_context():
        for group, answers, comments in raters:
            response = Response(cycle_id=cycle_id, rater_group=group, is_self=False)
            response.answers = [Answer(item_key=k, score=v) for k, v in answers.items()]
            response.comments = [Comment(prompt_key=k, text=v) for k, v in comments.items()]
            db.session.add(response)
        db.session.commit()


def written(app, cycle_id: int) -> tuple[str, int, int, list[str]]:
    """(status, responses, sealed rows, comment texts) of a cycle."""
    with app.app_context():
        cycle = db.session.get(FeedbackCycle, cycle_id)
        count = db.session.scalar(db.select(db.func.count()).select_from(Response).where(
            Response.cycle_id == cycle_id, ~Response.is_self))
        sealed = db.session.scalar(db.select(db.func.count()).select_from(SealedResponse)
                                   .where(SealedResponse.cycle_id == cycle_id))
        texts = list(db.session.scalars(
            db.select(Comment.text).join(Response).where(Response.cycle_id == cycle_id)))
        return cycle.status, count, sealed, sorted(texts)


def after_close_date() -> str:
    return (cycles.today() + timedelta(days=21)).isoformat()


def test_the_report_at_close_equals_that_of_the_same_answers_written_plainly(app, make_user):
    plain, sealed = open_cycles(app, make_user, 2)
    raters = rater_answers(app, plain, seed=9)
    write_plainly(app, plain, raters)
    seal_all(app, sealed, raters)
    with app.app_context():
        reports = []
        for cycle_id in (plain, sealed):
            cycle = db.session.get(FeedbackCycle, cycle_id)
            cycles.close_cycle(cycle, by=None)
            reports.append(summaries.report_for(cycle).to_dict())
        db.session.commit()
        assert reports[0] == reports[1]
        assert reports[0]["validity"]["responses"] > 0  # a real report, not two empty ones
        rows = db.session.execute(db.select(Response.cycle_id, Answer.item_key, Answer.score)
                                  .join(Answer)).all()
        by_cycle = [Counter((k, s) for c, k, s in rows if c == cycle_id)
                    for cycle_id in (plain, sealed)]
        assert by_cycle[0] == by_cycle[1]  # every answer, "not observed" included


def test_a_database_error_mid_close_leaves_that_cycle_sealed_and_the_next_run_finishes(
        app, make_user, runner, monkeypatch):
    ids = open_cycles(app, make_user, 3)
    for cycle_id in ids:
        seal_all(app, cycle_id, rater_answers(app, cycle_id, seed=cycle_id))
    expected = {cycle_id: sorted(c["strengths"] for _, _, c in rater_answers(app, cycle_id,
                                                                             seed=cycle_id) if c)
                for cycle_id in ids}
    doomed = ids[1]
    real_write_out = unsealing.write_out

    def failing_write_out(cycle_id: int) -> int:
        written_rows = real_write_out(cycle_id)  # the responses are in, the sealed rows gone
        if cycle_id == doomed:  # then the database fails before the close can commit
            db.session.execute(sa.text("SELECT * FROM no_such_table"))
        return written_rows

    monkeypatch.setattr(unsealing, "write_out", failing_write_out)
    first = runner.invoke(args=["close-due-cycles", "--on", after_close_date()])
    assert first.exit_code == 1, first.output
    assert "2 cycle(s) closed" in first.output
    assert f"cycle {doomed} not closed, left open for the next run" in first.output
    assert written(app, doomed) == ("open", 0, len(GROUPS), [])
    for cycle_id in (ids[0], ids[2]):
        assert written(app, cycle_id) == ("closed", len(GROUPS), 0, expected[cycle_id])

    monkeypatch.setattr(unsealing, "write_out", real_write_out)
    second = runner.invoke(args=["close-due-cycles", "--on", after_close_date()])
    assert second.exit_code == 0 and "1 cycle(s) closed" in second.output, second.output
    for cycle_id in ids:
        assert written(app, cycle_id) == ("closed", len(GROUPS), 0, expected[cycle_id])


KILLED_CLOSE = textwrap.dedent("""
    import json, os, sys
    from feedback360 import create_app
    from feedback360.services import unsealing

    real_write_out = unsealing.write_out

    def write_out_then_die(cycle_id):
        real_write_out(cycle_id)  # responses written, sealed rows deleted, nothing committed
        os._exit(17)  # killed: no rollback, no cleanup

    unsealing.write_out = write_out_then_die
    app = create_app(json.loads(sys.argv[1]))
    result = app.test_cli_runner().invoke(args=["close-due-cycles", "--on", sys.argv[2]])
    print(result.output, result.exception)
    sys.exit(1)
""")


def test_a_process_killed_mid_close_leaves_the_cycle_sealed_and_the_next_run_finishes(
        app, app_config, make_user, runner, tmp_path):
    [cycle_id] = open_cycles(app, make_user, 1)
    raters = rater_answers(app, cycle_id, seed=4)
    seal_all(app, cycle_id, raters)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # SQLite: no connection of ours in the way of the child's writes
    config = {**app_config, "INSTANCE_PATH": str(tmp_path / "killed")}
    killed = subprocess.run([sys.executable, "-c", KILLED_CLOSE, json.dumps(config),
                             after_close_date()], capture_output=True, text=True, timeout=120,
                            check=False)
    assert killed.returncode == 17, killed.stdout + killed.stderr
    assert written(app, cycle_id) == ("open", 0, len(raters), [])
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Invitation).where(
            Invitation.cycle_id == cycle_id)) == len(NOMINEES)

    again = runner.invoke(args=["close-due-cycles", "--on", after_close_date()])
    assert again.exit_code == 0 and "1 cycle(s) closed" in again.output, again.output
    comments = sorted(c["strengths"] for _, _, c in raters if c)
    assert written(app, cycle_id) == ("closed", len(raters), 0, comments)


@pytest.mark.parametrize("early", [False, True])
def test_closing_writes_out_every_sealed_response_once(app, make_user, early):
    [cycle_id] = open_cycles(app, make_user, 1)
    raters = rater_answers(app, cycle_id, seed=2)
    seal_all(app, cycle_id, raters)
    with app.app_context():
        cycles.close_cycle(db.session.get(FeedbackCycle, cycle_id), by=None, early=early)
        db.session.commit()
        with pytest.raises(cycles.DomainError, match="Only an open cycle"):
            cycles.close_cycle(db.session.get(FeedbackCycle, cycle_id), by=None)
        groups = Counter(db.session.scalars(db.select(Response.rater_group).where(
            Response.cycle_id == cycle_id, ~Response.is_self)))
    assert groups == Counter(GROUPS)
    assert written(app, cycle_id)[1:3] == (len(GROUPS), 0)


def test_submits_racing_the_close_are_written_out_or_refused_never_lost(app, make_app, smtp,
                                                                         make_user):
    """Every rater submits at the moment the cycle closes: each submit either committed first
    (and the close writes it out) or finds the cycle closed; none is left sealed or lost."""
    launched = launch_cycle(app, smtp, make_user("racer@nhs.net", name="Rae Racer"))
    ready = []
    for _, email, _ in RATERS:
        browser = app.test_client()
        open_link(browser, launched.links[email])
        answer_all(browser, "4")
        with app.app_context():
            invitation = launched.invitation(email)
            ready.append((invitation.id, invitation.token_nonce))
    racing = wide_pool_app(make_app)
    jobs = iter([None, *ready])  # the first thread to take a job closes the cycle
    lock = threading.Lock()

    def work() -> str:
        with lock:
            job = next(jobs)
        with racing.app_context():
            try:
                if job is None:
                    cycles.close_cycle(db.session.get(FeedbackCycle, launched.cycle_id), by=None)
                else:
                    surveys.submit_invitation(*job)
                db.session.commit()
                return "closed" if job is None else "submitted"
            except surveys.LinkProblem as problem:
                db.session.rollback()
                assert "has closed" in problem.message, problem.message  # not "already given"
                return f"refused {problem.status}"
            finally:
                db.session.remove()

    outcomes = Counter(race(len(ready) + 1, work))
    assert outcomes["closed"] == 1
    assert outcomes["submitted"] + outcomes["refused 410"] == len(ready), outcomes
    assert written(app, launched.cycle_id)[:3] == ("closed", outcomes["submitted"], 0)


def test_a_sealed_row_that_will_not_open_keeps_its_cycle_open_and_says_why(app, make_user,
                                                                           runner):
    broken, fine = open_cycles(app, make_user, 2)
    for cycle_id in (broken, fine):
        seal_all(app, cycle_id, rater_answers(app, cycle_id, seed=cycle_id))
    with app.app_context():
        row = db.session.scalars(db.select(SealedResponse).where(
            SealedResponse.cycle_id == broken).limit(1)).one()
        row.sealed = row.sealed[:-1] + bytes([row.sealed[-1] ^ 1])
        db.session.commit()
    result = runner.invoke(args=["close-due-cycles", "--on", after_close_date()])
    assert result.exit_code == 1 and "1 cycle(s) closed" in result.output, result.output
    assert f"cycle {broken} not closed" in result.output and "could not be read" in result.output
    assert written(app, broken)[:3] == ("open", 0, len(GROUPS))
    assert written(app, fine)[:3] == ("closed", len(GROUPS), 0)
