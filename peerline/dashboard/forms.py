"""The dashboard's forms (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from peerline.scheduling.recurrence import WEEKDAYS
from peerline.staff.accounts import ROLES


class LoginForm(FlaskForm):
    """Email and password."""

    email = StringField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    submit = SubmitField("Sign in")


class VolunteerForm(FlaskForm):
    """A new volunteer on the roster."""

    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    phone = StringField("Phone", validators=[DataRequired(), Length(max=32)])
    languages = StringField("Languages", default="en", validators=[DataRequired(),
                                                                    Length(max=40)])
    capacity = IntegerField("Capacity", validators=[Optional(), NumberRange(1, 10)])
    submit = SubmitField("Add volunteer")


class ImportForm(FlaskForm):
    """A roster CSV to import (header: name, phone, languages, capacity)."""

    file = FileField("CSV file", validators=[FileRequired("choose a CSV file")])
    submit = SubmitField("Import")


class EditVolunteerForm(FlaskForm):
    """A volunteer's name, languages, capacity and (when filled in) a new phone."""

    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    phone = StringField("New phone", validators=[Optional(), Length(max=32)],
                        description="leave blank to keep the number")
    languages = StringField("Languages", validators=[DataRequired(), Length(max=40)])
    capacity = IntegerField("Capacity", validators=[DataRequired(), NumberRange(1, 10)])
    # Lived-experience tags (choices from PEERLINE_PEER_TAGS, set by the view).
    experience = SelectMultipleField("Lived-experience tags", choices=[], validate_choice=False,
                               widget=ListWidget(prefix_label=False),
                               option_widget=CheckboxInput())
    not_matched = SelectMultipleField("Not to be matched on", choices=[],
                                      validate_choice=False,
                                      widget=ListWidget(prefix_label=False),
                                      option_widget=CheckboxInput())
    submit = SubmitField("Save")


class AckForm(FlaskForm):
    """Acknowledge an escalation, with an optional note."""

    note = StringField("Note", validators=[Optional(), Length(max=300)])
    submit = SubmitField("Acknowledge")


class UserForm(FlaskForm):
    """A new dashboard user."""

    email = StringField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=10, max=200)])
    role = SelectField("Role", choices=list(ROLES), default="viewer")
    submit = SubmitField("Add user")


class PinForm(FlaskForm):
    """A new voice PIN for a volunteer, typed twice (never shown back)."""

    pin = PasswordField("New PIN", validators=[DataRequired(), Length(min=4, max=12)])
    again = PasswordField("Same PIN again", validators=[
        DataRequired(), EqualTo("pin", message="the two PINs differ")])
    submit = SubmitField("Set PIN")


class ShiftForm(FlaskForm):
    """A new shift: a volunteer, a weekday (weekly) or a date (once), start and end in
    the line's time zone (checked by the schedule's domain, as on the CLI)."""

    volunteer = SelectField("Volunteer", coerce=int, validators=[DataRequired()])
    day = SelectField("Every week on", default="",
                      choices=[SelectChoice("", "—"), *(SelectChoice(d) for d in WEEKDAYS)])
    date = StringField("Or once on (YYYY-MM-DD)", validators=[Optional(), Length(max=12)])
    start = StringField("Start (HH:MM)", validators=[DataRequired(), Length(max=5)])
    end = StringField("End (HH:MM)", validators=[DataRequired(), Length(max=5)])
    submit = SubmitField("Add shift")


class CancelDateForm(FlaskForm):
    """One date of a weekly shift that does not happen."""

    date = StringField("Date (YYYY-MM-DD)", validators=[DataRequired(), Length(max=12)])
    submit = SubmitField("Cancel that date")


class ApproveForm(FlaskForm):
    """Approve an application to volunteer, with the languages to put on the roster."""

    languages = StringField("Languages", validators=[DataRequired(), Length(max=40)])
    submit = SubmitField("Approve")


class DeclineForm(FlaskForm):
    """Decline an application to volunteer."""

    submit = SubmitField("Decline")
