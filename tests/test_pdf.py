"""The PDF renderer: A4 pages, the text we put in, and no fetch leaves the server."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from feedback360.pdf import RemoteFetchRefused, _static_fetcher, render_pdf

A4_POINTS = (595.28, 841.89)


def test_renders_a4_with_the_text(app):
    with app.test_request_context():
        pdf = render_pdf("pdf/sample.html", heading="Letter of achievement", image=None)
    reader = PdfReader(io.BytesIO(pdf))
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(A4_POINTS, abs=0.5)
    text = reader.pages[0].extract_text()
    assert "Letter of achievement" in text
    assert "Page 1 of 1" in text


@pytest.mark.parametrize("url", [
    "https://fonts.example.org/frutiger.woff2",
    "http://127.0.0.1:9/static/app.css",
    "file:///etc/passwd",
    "/static/../../../etc/passwd",
])
def test_fetcher_refuses_anything_but_the_apps_static_files(app, url):
    fetch = _static_fetcher(Path(app.static_folder))
    with pytest.raises(RemoteFetchRefused):
        fetch(url)


def test_fetcher_serves_a_static_file(app):
    fetch = _static_fetcher(Path(app.static_folder))
    assert fetch("/static/app.css")["string"] == (Path(app.static_folder) / "app.css").read_bytes()
