"""Survey forms built from an instrument: one form class per domain page, one for the comments.

The forms render the pages and carry the CSRF token; they do not judge the answers.
``services.surveys.apply_answers`` and ``apply_comments`` do, so a forged value is refused by the
same rule whichever page or client sent it.
"""

from __future__ import annotations

from werkzeug.datastructures import MultiDict
from wtforms import RadioField, SelectChoice, TextAreaField

from ..instruments import Domain, Instrument
from ..models import COMMENT_MAX_LENGTH
from ..services.surveys import NOT_OBSERVED, BadAnswers, Draft
from ..text_input import Form

# Form fields that are not answers; every other submitted name must be an item or prompt key.
CONTROL_FIELDS = frozenset({"csrf_token", "action"})

_COMMENTS = "comments"
# Keyed by content as well as key and version: tests (and a misconfigured server) can meet two
# different definitions under one key and version, and a stale page would then silently mislead.
_form_classes: dict[tuple[str, ...], type[Form]] = {}


def scale_choices(instrument: Instrument) -> list[SelectChoice]:
    """The scale points, labelled where the instrument labels them, then "not observed" last."""
    scale = instrument.scale
    choices = [SelectChoice(str(point), scale.labels.get(point, str(point)))
               for point in scale.points]
    choices.append(SelectChoice(NOT_OBSERVED, scale.not_observed))
    return choices


def make_survey_form(instrument: Instrument, domain: Domain) -> type[Form]:
    """The form class for one domain's page: a radio group per item, named by the item's key."""
    # The self-assessment's copy (first person) shares the key, version and sha256.
    cache_key = (instrument.key, instrument.version, instrument.sha256, instrument.perspective,
                 domain.key)
    form_class = _form_classes.get(cache_key)
    if form_class is None:
        choices = scale_choices(instrument)
        fields = {item.key: RadioField(item.text, choices=choices, validate_choice=False)
                  for item in domain.items}
        form_class = _build(f"SurveyPage_{domain.key}", fields, instrument)
        form_class.item_keys = tuple(fields)
        form_class.page_domain = domain
        _form_classes[cache_key] = form_class
    return form_class


def make_comments_form(instrument: Instrument) -> type[Form]:
    """The comments page: a free-text box per prompt, at most ``COMMENT_MAX_LENGTH`` characters."""
    cache_key = (instrument.key, instrument.version, instrument.sha256, instrument.perspective,
                 _COMMENTS)
    form_class = _form_classes.get(cache_key)
    if form_class is None:
        fields = {prompt.key: TextAreaField(prompt.prompt, description=prompt.hint or "")
                  for prompt in instrument.comments}
        form_class = _build("SurveyComments", fields, instrument)
        form_class.prompt_keys = tuple(fields)
        form_class.max_length = COMMENT_MAX_LENGTH
        _form_classes[cache_key] = form_class
    return form_class


def _build(name: str, fields: dict[str, object], instrument: Instrument) -> type[Form]:
    # Keys are valid HTML names but may shadow a Form attribute ("data", "errors", "meta"...),
    # which would break every page of the instrument in a confusing way: refuse it plainly.
    # (Our own class attributes all contain "_", which a key cannot, so they never collide.)
    for key in fields:
        if key in CONTROL_FIELDS or hasattr(Form, key):
            raise ValueError(f"{instrument.source or instrument.key}: the key {key!r} is "
                             "reserved by the survey form; rename it in the instrument")
    return type(name, (Form,), dict(fields))


class DeclineForm(Form):
    reason = TextAreaField("Why can you not give feedback? (optional)")


# --- Shared by the rater's survey and the self-assessment --------------------------------------

def answers_as_form_data(draft: Draft, item_keys: tuple[str, ...]) -> dict[str, str]:
    """A draft's answers as the radio values that would have sent them."""
    return {key: NOT_OBSERVED if draft.answers[key] is None else str(draft.answers[key])
            for key in item_keys if key in draft.answers}


def submitted_values(formdata: MultiDict[str, str]) -> dict[str, str]:
    """The answers in a POST, for the service to judge; a name sent twice is never ours."""
    values: dict[str, str] = {}
    for name, sent in formdata.lists():
        if name in CONTROL_FIELDS:
            continue
        if len(sent) != 1:
            raise BadAnswers("The answers sent do not match the questions on this page")
        values[name] = sent[0]
    return values


def first_unanswered_page(instrument: Instrument, draft: Draft) -> int | None:
    """The 1-based domain page holding the first unanswered item, if any is left."""
    for number, domain in enumerate(instrument.domains, start=1):
        if any(item.key not in draft.answers for item in domain.items):
            return number
    return None
