#!/usr/bin/env python3
"""Check that the survey's lean macros emit exactly what the NHS.UK components would.

``templates/survey/_macros.html`` writes out by hand the markup of the NHS.UK ``radios``,
``summaryList``, ``characterCount``, ``button``, ``backLink`` and ``panel`` components (the
component macros cost about 80 % of a survey page's CPU). This helper renders, for many awkward
inputs (markup and quotes in texts, surrounding and inner line breaks, a hint, an error, nothing
or "not observed" chosen, unanswered items), both the lean macro and the component it stands
for, called as the survey called it, and reports any difference byte for byte (the radios
twice: the second time from ``item_radios_once``'s cache). Run it after upgrading
``nhsuk-frontend-jinja`` or editing those macros::

    .venv/bin/python bench/_markup_check.py

Exit status 0 when every case is identical, 1 otherwise. A helper (leading ``_``), not a
benchmark.
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The survey's macros as they were when they called the NHS.UK components (hint and error
# message passed through as the components take them).
REFERENCE = r"""
{% from "nhsuk/components/radios/macro.jinja" import radios %}
{% from "nhsuk/components/summary-list/macro.jinja" import summaryList %}
{% from "nhsuk/components/button/macro.jinja" import button %}
{% from "nhsuk/components/back-link/macro.jinja" import backLink %}
{% from "nhsuk/components/character-count/macro.jinja" import characterCount %}
{% from "nhsuk/components/panel/macro.jinja" import panel %}
{% from "survey/_macros.html" import answer_text %}

{% macro item_radios(field) %}
  {% set items = [] %}
  {% for choice in field.iter_choices() %}
    {% if loop.last %}{% set _ = items.append({"divider": "or"}) %}{% endif %}
    {% set _ = items.append({"value": choice.value, "text": choice.label | e,
                             "checked": choice.selected}) %}
  {% endfor %}
  {{ radios({
    "idPrefix": field.id,
    "name": field.name,
    "fieldset": {"legend": {"text": field.label.text | e, "classes": "nhsuk-fieldset__legend--s"}},
    "hint": {"text": field.description | e} if field.description else none,
    "errorMessage": {"text": field.errors[0] | e} if field.errors else none,
    "items": items
  }) }}
{% endmacro %}

{% macro answers_summary(instrument, draft, page_urls) %}
  {% for domain in instrument.domains %}
    {% set page_url = page_urls[loop.index0] %}
    <h2 class="nhsuk-heading-m">{{ domain.title }}</h2>
    {% set rows = [] %}
    {% for item in domain.items %}
      {% set _ = rows.append({
        "key": {"text": item.text | e},
        "value": {"text": answer_text(instrument, draft, item.key) | e,
                  "classes": "nhsuk-u-secondary-text-color"
                             if item.key not in draft.answers else none},
        "actions": {"items": [{"href": page_url ~ "#" ~ item.key, "text": "Change",
                               "visuallyHiddenText": item.text | e}]}
      }) %}
    {% endfor %}
    {{ summaryList({"rows": rows}) }}
  {% endfor %}
{% endmacro %}

{% macro comment_box(field, max_length) %}
  {{ characterCount({
    "id": field.id,
    "name": field.name,
    "maxlength": max_length,
    "rows": 6,
    "label": {"text": field.label.text | e, "size": "s"},
    "hint": {"text": field.description | e} if field.description else none,
    "value": (field.data or "") | e,
    "errorMessage": {"text": field.errors[0] | e} if field.errors else none
  }) }}
{% endmacro %}

{% macro save_buttons() %}
  <div class="nhsuk-button-group">
    {{ button({"text": "Save and continue", "name": "action", "value": "continue",
               "preventDoubleClick": true}) }}
    {{ button({"text": "Save and come back later", "name": "action", "value": "later",
               "variant": "secondary", "preventDoubleClick": true}) }}
  </div>
{% endmacro %}

{% macro submit_button(text) %}{{ button({"text": text, "preventDoubleClick": true}) }}
{%- endmacro %}

{% macro link_button(text, href) %}{{ button({"text": text, "href": href}) }}{% endmacro %}

{% macro confirmation_panel(heading, text=none) %}
{{- panel({"heading": heading, "headingLevel": 1, "text": text} if text
          else {"heading": heading, "headingLevel": 1}) -}}
{% endmacro %}

{% macro back_link(href) %}{{ backLink({"href": href, "text": "Back"}) }}{% endmacro %}

{# review.html's "Your comments" list, as it was. #}
{% macro comments_summary(instrument, draft, comments_url) %}
    {% set rows = [] %}
    {% for prompt in instrument.comments %}
      {% set comment_html %}
        {%- if prompt.key in draft.comments -%}
          <span style="white-space: pre-wrap">{{ draft.comments[prompt.key] }}</span>
        {%- else -%}
          <span class="nhsuk-u-secondary-text-color">No comment</span>
        {%- endif -%}
      {% endset %}
      {% set _ = rows.append({
        "key": {"text": prompt.prompt | e},
        "value": {"html": comment_html},
        "actions": {"items": [{"href": comments_url ~ "#" ~ prompt.key, "text": "Change",
                               "visuallyHiddenText": prompt.prompt | e}]}
      }) %}
    {% endfor %}
    {{ summaryList({"rows": rows}) }}
{% endmacro %}
"""



AWKWARD = [
    "Plain statement.",
    'Says "no" & <script>alert(1)</script> when it matters',
    "  surrounding spaces and a tab\t",
    "Two lines\nof text",
    "Blank line\n\nbetween\n   indented line\n",
    "\nleading newline, trailing too\n",
    "Quotes ' and \" and `",
]


def main() -> int:
    from flask_wtf import FlaskForm
    from wtforms import RadioField, TextAreaField

    from feedback360 import create_app
    from feedback360.forms.survey import scale_choices
    from feedback360.instruments import load_directory
    from feedback360.services.surveys import Draft

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "markup-check",
                      "WTF_CSRF_ENABLED": False, "TESTING": True})
    env = app.jinja_env
    reference = env.from_string(REFERENCE).module
    lean = env.get_template("survey/_macros.html").module
    failures = 0
    cases = 0

    def compare(name: str, expected: str, got: str) -> None:
        nonlocal failures, cases
        cases += 1
        if expected != got:
            failures += 1
            print(f"DIFFERS: {name}")
            sys.stdout.writelines(difflib.unified_diff(
                expected.splitlines(True), got.splitlines(True), "nhsuk", "lean", n=2))
            print()

    with app.test_request_context():
        instrument = load_directory(app.config["INSTRUMENTS_DIR"])["clcf"]
        choices = scale_choices(instrument)
        odd_choices = [type(choices[0])(c.value, AWKWARD[i % len(AWKWARD)])
                       for i, c in enumerate(choices)]
        for n, text in enumerate(AWKWARD):
            for hint in ("", AWKWARD[(n + 1) % len(AWKWARD)]):
                for error in (None, AWKWARD[(n + 2) % len(AWKWARD)]):
                    for chosen in (None, "1", "na"):
                        for option_set in (choices, odd_choices, choices[-1:], choices[:2]):
                            field = RadioField(text, choices=option_set, description=hint,
                                               validate_choice=False)
                            form = type("F", (FlaskForm,), {"item-x": field})(
                                data={"item-x": chosen} if chosen else {})
                            bound = form["item-x"]
                            if error:
                                bound.errors = [error]
                            for attempt in ("", ", again (cached)"):
                                compare(f"item_radios text={text!r} hint={hint!r} "
                                        f"error={error!r} chosen={chosen} "
                                        f"options={len(option_set)}{attempt}",
                                        str(reference.item_radios(bound)),
                                        str(lean.item_radios(bound)))
        for n, text in enumerate(AWKWARD):
            for hint in ("", AWKWARD[(n + 1) % len(AWKWARD)]):
                for error in (None, AWKWARD[(n + 2) % len(AWKWARD)]):
                    for value in (None, "", AWKWARD[(n + 3) % len(AWKWARD)],
                                  "ends the box </textarea><script>x</script>"):
                        field = TextAreaField(text, description=hint)
                        form = type("F", (FlaskForm,), {"prompt": field})(
                            data={"prompt": value})
                        bound = form["prompt"]
                        if error:
                            bound.errors = [error]
                        compare(f"comment_box text={text!r} hint={hint!r} error={error!r} "
                                f"value={value!r}", str(reference.comment_box(bound, 4000)),
                                str(lean.comment_box(bound, 4000)))
        compare("save_buttons", str(reference.save_buttons()), str(lean.save_buttons()))
        for text in AWKWARD:
            compare(f"submit_button {text!r}", str(reference.submit_button(text)),
                    str(lean.submit_button(text)))
            compare(f"back_link {text!r}", str(reference.back_link(text)),
                    str(lean.back_link(text)))
            compare(f"link_button {text!r}", str(reference.link_button(text, text)),
                    str(lean.link_button(text, text)))
            for body in (None, AWKWARD[-1], AWKWARD[3]):
                compare(f"confirmation_panel {text!r} {body!r}",
                        str(reference.confirmation_panel(text, body)),
                        str(lean.confirmation_panel(text, body)))
        urls = [f"/survey/page/{n}" for n in range(1, len(instrument.domains) + 1)]
        keys = instrument.item_keys
        drafts = [
            Draft(answers={}, comments={}),
            Draft(answers={k: (None if i % 4 == 0 else 1 + i % 5) for i, k in enumerate(keys)},
                  comments={}),
            Draft(answers={k: 3 for k in keys[::3]}, comments={}),
            Draft(answers={keys[0]: 99}, comments={}),  # a score with no label
        ]
        for n, draft in enumerate(drafts):
            compare(f"answers_summary draft {n}",
                    str(reference.answers_summary(instrument, draft, urls)),
                    str(lean.answers_summary(instrument, draft, urls)))
        # The same rows with awkward item texts and domain titles.
        for domain in instrument.domains:
            for i, item in enumerate(domain.items):
                object.__setattr__(item, "text", AWKWARD[i % len(AWKWARD)])
        compare("answers_summary awkward texts",
                str(reference.answers_summary(instrument, drafts[1], urls)),
                str(lean.answers_summary(instrument, drafts[1], urls)))
        for n, comments in enumerate(({}, {p.key: AWKWARD[i] for i, p in
                                              enumerate(instrument.comments)})):
            draft = Draft(answers={}, comments=comments)
            compare(f"comments_summary {n}",
                    str(reference.comments_summary(instrument, draft, "/survey/comments")),
                    str(lean.comments_summary(instrument, draft, "/survey/comments")))
        for prompt in instrument.comments:
            object.__setattr__(prompt, "prompt", AWKWARD[1])
        compare("comments_summary awkward prompts",
                str(reference.comments_summary(instrument, draft, "/survey/comments")),
                str(lean.comments_summary(instrument, draft, "/survey/comments")))
    print(f"{cases} cases, {failures} differ")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
