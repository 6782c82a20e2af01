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
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

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
    """A volunteer's name, languages and capacity (the phone stays as it is)."""

    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
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


class ApproveForm(FlaskForm):
    """Approve an application to volunteer, with the languages to put on the roster."""

    languages = StringField("Languages", validators=[DataRequired(), Length(max=40)])
    submit = SubmitField("Approve")


class DeclineForm(FlaskForm):
    """Decline an application to volunteer."""

    submit = SubmitField("Decline")
