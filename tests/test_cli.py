"""The flask commands operators and cron use."""

from __future__ import annotations

import re

from helpers import path_of, post_form, totp_code

from feedback360 import two_factor_keys
from feedback360.demo import DEMO_TOTP_KEY
from feedback360.extensions import db
from feedback360.models import (
    BoardReport,
    CoachAssignment,
    Cohort,
    CommitmentStatus,
    StoredCohortAnalysis,
    TwoFactorKey,
    User,
)
from feedback360.services.surveys import read_survey_token, usable_invitation


def count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_seed_demo_prints_logins_and_is_repeatable(make_app):
    # make demo PORT=5101: the links printed (and mailed) follow the address it serves.
    app = make_app(SERVER_BASE_URL="http://127.0.0.1:5101")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo", "--password", "demo passphrase words"])
    assert first.exit_code == 0, first.output
    assert "Sign in at http://127.0.0.1:5101/ with" in first.output
    assert "programme.lead@demo.feedback360.nhs.uk" in first.output
    assert "champion champion.adeyemi@demo.feedback360.nhs.uk" in first.output
    assert "demo passphrase words" in first.output
    # The demo admin can sign in: their second factor's key is printed.
    assert DEMO_TOTP_KEY in first.output
    assert ":5000" not in first.output
    second = runner.invoke(args=["seed-demo", "--password", "demo passphrase words"])
    assert second.exit_code == 0
    with app.app_context():
        roles = dict(db.session.execute(
            db.select(User.role, db.func.count()).group_by(User.role)).all())
        assert roles == {"admin": 1, "champion": 1, "coach": 2,
                         "trainee": 22}  # two intakes: 12 and 10
        [key] = db.session.scalars(db.select(TwoFactorKey)).all()
        assert two_factor_keys.unseal(key.sealed_secret, key.user_id) == DEMO_TOTP_KEY
        assert count(CoachAssignment) == 22
        # the champion's organisation: a partly-met commitment with history, one board report
        assert count(BoardReport) == 1 and count(CommitmentStatus) == 10
        trainees = db.session.scalars(db.select(User).where(User.role == "trainee")).all()
        assert all(t.specialty and t.training_year and t.site and t.cohort for t in trainees)
        # both intakes' reports are ready, as close-due-cycles would have left them
        assert set(db.session.scalars(db.select(StoredCohortAnalysis.cohort_id))) == set(
            db.session.scalars(db.select(Cohort.id)))
    # One ready rater link: the same colleague's each time until they answer.
    links = [re.findall(r"http://127\.0\.0\.1:5101/s/\S+", run.output)
             for run in (first, second)]
    assert [len(found) for found in links] == [1, 1]
    with app.app_context():
        invitations = [usable_invitation(*read_survey_token(path_of(found[0]).split("/")[-1]))
                       for found in links]
        assert invitations[0] is invitations[1]
        assert invitations[0].cycle.status == "open" and invitations[0].draft is None
        trainee = invitations[0].cycle.trainee.name
    rater = app.test_client()
    welcome = rater.get(path_of(links[0][0]), follow_redirects=True)
    assert welcome.status_code == 200
    assert trainee in welcome.get_data(as_text=True)


def test_create_admin(app, runner, client, login):
    result = runner.invoke(args=["create-admin", "--email", "Lead@NHS.net", "--name", "Lee Lead",
                                 "--password", "plum kettle orbit lantern"])
    assert result.exit_code == 0, result.output
    # The new admin's TOTP key is printed, grouped and as an otpauth address, and works.
    key = re.search(r"key: +([A-Z2-7 ]+)\n", result.output).group(1).replace(" ", "")
    assert f"otpauth://totp/feedback360:lead%40nhs.net?secret={key}" in result.output
    step = login(client, "lead@nhs.net", "plum kettle orbit lantern", second_factor=False)
    assert step.location == "/auth/two-factor"
    code = post_form(client, "/auth/two-factor", {"code": totp_code(key)})
    assert code.location == "/"
    # Run again for the same admin (a lost phone): a new key, the old one stops working.
    again = runner.invoke(args=["create-admin", "--email", "lead@nhs.net", "--name", "Lee Lead",
                                "--password", "plum kettle orbit lantern"])
    assert key not in again.output
    assert client.get("/admin/users").location.startswith("/auth/login")  # password reset


def test_create_admin_refuses_a_weak_password(runner):
    result = runner.invoke(args=["create-admin", "--email", "lead@nhs.net", "--name", "Lee",
                                 "--password", "password1"])
    assert result.exit_code != 0
    assert "at least 10 characters" in result.output


def test_instruments_check(runner):
    result = runner.invoke(args=["instruments", "check"])
    assert result.exit_code == 0, result.output
    assert "clcf" in result.output and "clcf-enhanced" in result.output
    assert "2 instrument(s) valid" in result.output


def test_instruments_check_names_the_broken_file(runner, tmp_path):
    (tmp_path / "broken.yaml").write_text("key: broken\nversion: 1\n")
    result = runner.invoke(args=["instruments", "check", str(tmp_path)])
    assert result.exit_code != 0
    assert "broken.yaml" in result.output
