"""Every error is an NHS-styled page with a clear heading, never a traceback."""

from __future__ import annotations

import pytest
from helpers import csrf_token

from feedback360.error_pages import render_error


def assert_error_page(response, status: int, heading: str) -> None:
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert f"<h1>{heading}</h1>" in response.text
    assert "nhsuk-header" in response.text
    assert "Traceback" not in response.text


def test_404(client):
    assert_error_page(client.get("/no/such/page"), 404, "Page not found")


def test_405(client):
    response = client.get("/auth/logout")
    assert_error_page(response, 405, "This page cannot be used that way")
    assert "POST" in response.headers["Allow"]


def test_403_for_the_wrong_role(client, make_user, login):
    make_user("trainee@nhs.net")
    login(client, "trainee@nhs.net")
    assert_error_page(client.get("/admin/users"), 403,
                      "You do not have permission to see this page")


def test_400_for_a_missing_csrf_token(client):
    assert_error_page(client.post("/auth/forgot-password", data={"email": "a@nhs.net"}), 400,
                      "There is a problem with your request")


def test_413_for_an_oversized_request(app, client):
    page = client.get("/auth/login")
    response = client.post("/auth/login", data={
        "email": "a@nhs.net", "password": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1),
        "csrf_token": csrf_token(page.text)})
    assert_error_page(response, 413, "What you sent is too large")


def test_410_for_a_bad_link(client):
    assert_error_page(client.get("/auth/activate/not-a-token"), 410, "This link is not valid")


def test_500_hides_the_traceback(app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert_error_page(response, 500, "Sorry, there is a problem with the service")
    assert "secret internals" not in response.text


@pytest.mark.parametrize("header", ["Content-Security-Policy", "X-Content-Type-Options",
                                    "X-Frame-Options", "Referrer-Policy"])
def test_security_headers(client, header):
    assert header in client.get("/auth/login").headers


def test_pages_load_nothing_from_other_hosts(client):
    page = client.get("/auth/login").text
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    csp = client.get("/auth/login").headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp


def test_error_pages_say_what_to_do_in_words_not_codes(app, client):
    """Raters (and everyone else) read what happened and what to do; a status code helps nobody
    on the page (it is in the response, for machines)."""
    for page in (client.get("/auth/activate/not-a-token"), client.get("/no/such/page")):
        assert "Error code" not in page.text
    with app.test_request_context("/"):
        body, status = render_error(410)
    assert status == 410 and "Error code" not in body
    assert "ask the person who sent it to you for a new one" in body
