"""API tokens: e-mail and password (and a TOTP code for staff) in, a bearer token out."""
from __future__ import annotations

from typing import Annotated

from flask_babel import lazy_gettext as _l
from pydantic import Field

from .common import BLANK, LINE, Id, Input, IsoDate, Moment, Output, Refusal

MAX_DAYS = 365
DEFAULT_DAYS = 90
NAME_MAX = 100

Days = Annotated[int, Field(ge=1, le=MAX_DAYS, strict=True),  # a JSON integer: not "7", 7.0 or true
                 Refusal(_l("A token lives from 1 to %(n)d days.", n=MAX_DAYS), always=True),
                 Field(description="how long the token lives", json_schema_extra={"default": DEFAULT_DAYS})]


class TokenSettings(Input):
    """What a new token is called and how long it lives (the account page and the API)."""

    days: Annotated[Days | None, BLANK] = None
    name: Annotated[Annotated[str, Field(max_length=NAME_MAX), LINE] | None, BLANK] = None


class TokenRequest(TokenSettings):
    """POST /auth/token."""

    email: Annotated[str, Field(min_length=1, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=4096)]
    totp: Annotated[Annotated[str, Field(max_length=20)] | None, BLANK] = Field(
        None, description="The current six-digit code, for users with two-factor sign-in (regulators, the operator)")


class TokenOut(Output):
    token: str = Field(description="shown this once only")
    id: int
    prefix: str
    expires_at: Moment


class OrganisationIn(Input):
    """An organisation (self-registration, `flask create-staff`); the credit code's check character and
    uniqueness are the service's."""

    org_name: Annotated[str, Field(min_length=1, max_length=200), LINE,
                        Refusal(_l("The organisation needs a name."), kinds=("missing", "too_short"))]
    credit_code: Annotated[str, Field(max_length=30), LINE]


class UserIn(Input):
    """A user of an organisation; the password's strength and the e-mail's uniqueness are the service's."""

    email: Annotated[str, Field(min_length=3, max_length=254), LINE,
                     Refusal(_l("Enter a valid e-mail address."), kinds=("missing", "too_short"))]
    password: Annotated[str, Field(max_length=200)]
    name: Annotated[str, Field(max_length=100), LINE] = ""


class ContactIn(Input):
    """An organisation's contact person for deals (its administrators set it; agreed counterparties see it)."""

    contact_name: Annotated[Annotated[str, Field(max_length=100), LINE] | None, BLANK] = None
    contact_phone: Annotated[Annotated[str, Field(max_length=40, pattern=r"^\+?[0-9][0-9 ()\-]{4,38}$"), LINE,
                                       Refusal(_l("Enter a phone number: digits, spaces, + ( ) -."),
                                               kinds=("string_pattern_mismatch",))] | None, BLANK] = None
    contact_email: Annotated[Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), LINE,
                                       Refusal(_l("Enter a valid e-mail address."),
                                               kinds=("string_pattern_mismatch",))] | None, BLANK] = None


class AuditQuery(Input):
    """The audit page's filters (its query string); empty means not given."""

    action: Annotated[Annotated[str, Field(max_length=60), LINE] | None, BLANK] = Field(
        None, description="one of the log's actions")
    org: Annotated[Id | None, BLANK] = Field(None, description="what an organisation did or had done to it")
    actor: Annotated[Annotated[str, Field(max_length=254), LINE] | None, BLANK] = Field(
        None, description="the acting user's e-mail address, or its beginning")
    since: Annotated[IsoDate | None, BLANK] = Field(None, description="from this day (UTC+8)")
    until: Annotated[IsoDate | None, BLANK] = Field(None, description="to this day, inclusive (UTC+8)")
