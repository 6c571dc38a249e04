"""Forms for written feedback on an activity: the trainee's request to a named observer, and
the observer's page of prompts (one box per element the trainee chose, then an overall comment).

As elsewhere, the forms carry what was typed; ``services.written_feedback`` and
``services.observer_answers`` judge it, so each rule has one wording.
"""

from __future__ import annotations

from wtforms import SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from ..services.observer_answers import OVERALL, Prompt
from ..text_input import Form


class ObserverRequestForm(Form):
    name = StringField("Observer's full name")
    email = StringField("Observer's work email address")
    role = StringField("Their role (optional)")
    elements = SelectMultipleField("Which leadership elements should they comment on?",
                                   validate_choice=False, widget=ListWidget(prefix_label=False),
                                   option_widget=CheckboxInput())
    message = TextAreaField("A message to the observer (optional)")


class ActionForm(Form):
    """A button that changes something (withdraw, send again): the CSRF token alone."""


def observer_form_class(prompts: list[Prompt], trainee_name: str) -> type[Form]:
    """A box per prompt, named by its element key, then the overall comment."""
    fields: dict[str, object] = {
        prompt.key: TextAreaField(prompt.title, description=(
            f"In {prompt.domain_title}: how did {trainee_name} show this, and what could they "
            "develop?"))
        for prompt in prompts}
    fields[OVERALL] = TextAreaField("Overall comment", description=(
        f"Anything else about how {trainee_name} led in this activity."))
    return type("ObserverFeedbackForm", (Form,), fields)
