"""The building blocks every feature's schemas share: exact numbers, safe text, ISO dates, the input and output
bases, and `validate`, which turns pydantic's first error into our ValidationError with a translated message
that names the field.

The limits live in the schemas and nowhere else: the services validate through them, the forms report their
errors on the field (and take HTML attributes from them), and the OpenAPI document is generated from them."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

import annotated_types
from flask_babel import lazy_gettext as _l
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    WithJsonSchema,
    create_model,
)
from pydantic import ValidationError as PydanticError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from ..clock import iso
from ..errors import ValidationError
from ..services.values import CONTROL, CONTROL_IN_TEXT, MAX_ID, MAX_YEAR, MIN_YEAR

M = TypeVar("M", bound=BaseModel)


class Input(BaseModel):
    """A request body or query: unknown fields are refused by name."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Output(BaseModel):
    """A response body. `dump()` is the JSON the API returns: fields left unset (an identity hidden from this
    reader, a distance nobody asked for) are left out."""

    model_config = ConfigDict(extra="forbid")

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


@dataclass(frozen=True)
class Refusal:
    """Annotated metadata: the message a field answers with when its value is not one of the allowed ones
    (an unknown status, a malformed object), instead of the generic one of the error's type; with
    `always`, for every error of the field but a missing value; with `kinds`, for errors of those types
    (pydantic's or ours: "number", "greater_than_equal", "decimal_max_places", "missing", ...)."""

    message: Any
    always: bool = False
    kinds: tuple[str, ...] = ()


# --- scalar parsing, as every door into the system has always done it ---------------------------------------

def _scalar(value: Any) -> str:
    if isinstance(value, (bool, dict, list)) or value is None:
        raise PydanticCustomError("number", "Enter a number.")
    return str(value).strip()


def _whole_number(value: Any) -> Any:
    """"120", 120 and 120.0 are 120; 120.5, "1e999", true and lists are refused."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        number = Decimal(_scalar(value))
    except (InvalidOperation, PydanticCustomError):
        raise PydanticCustomError("whole_number", "Enter a whole number.") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise PydanticCustomError("whole_number", "Enter a whole number.")
    return int(number)


def exact_decimal(value: Any) -> Any:
    """A finite Decimal from a number or its text (floats by their shortest text: 12.5, not 12.4999...)."""
    if isinstance(value, Decimal):
        number = value
    else:
        try:
            number = Decimal(_scalar(value))
        except InvalidOperation:
            raise PydanticCustomError("number", "Enter a number.") from None
    if not number.is_finite():
        raise PydanticCustomError("number", "Enter a number.")
    return number


def _iso_date(value: Any) -> Any:
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        if not isinstance(value, str):
            raise PydanticCustomError("iso_date", "Enter a date as YYYY-MM-DD.")
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise PydanticCustomError("iso_date", "Enter a date as YYYY-MM-DD.") from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise PydanticCustomError("date_range", "Enter a date between 2000 and 2100.")
    return value


def _safe_text(pattern: re.Pattern[str]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise PydanticCustomError("text", "Enter text.")
        if pattern.search(value):  # NUL and lone surrogates: PostgreSQL and UTF-8 refuse to store them
            raise PydanticCustomError("control_characters", "Characters that are not allowed.")
        return value.strip()

    return check


def _blank_is_none(value: Any) -> Any:
    return None if value == "" else value


#: Annotated metadata for the field types below (and the schemas' own): how a value is read before its
#: constraints (given with Field) are checked.
WHOLE = BeforeValidator(_whole_number)  # an int from 120, "120", 120.0 or "1.2e2"; never 120.5 or true
EXACT = BeforeValidator(exact_decimal)  # a finite Decimal from a number or its text
BLANK = BeforeValidator(_blank_is_none)  # "" (an empty form field) is null
TEXT = BeforeValidator(_safe_text(CONTROL_IN_TEXT))  # stripped text without control characters (tab, CR, LF ok)
LINE = BeforeValidator(_safe_text(CONTROL))  # the same on one line


def decimal_field(minimum: Decimal | int, maximum: Decimal | int, places: int) -> Any:
    """The constraints of an exact decimal within [minimum, maximum] with at most `places` decimals."""
    digits = len(str(int(max(abs(Decimal(minimum)), abs(Decimal(maximum)))))) + places
    return Field(ge=Decimal(minimum), le=Decimal(maximum), decimal_places=places, max_digits=digits)


def quantized(places: int) -> AfterValidator:
    """Keep a decimal to exactly `places` decimals (12.5 -> 12.50)."""
    quantum = Decimal(1).scaleb(-places)
    return AfterValidator(lambda d: d.quantize(quantum))


#: An ISO date (YYYY-MM-DD) in 2000..2100.
IsoDate = Annotated[date, BeforeValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date"})]

#: A database id (a positive int in the id column's range).
Id = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_whole_number)]

# --- outputs -------------------------------------------------------------------------------------------------

#: Yuan in a response: a string with exactly two decimals ("12.50").
MoneyText = Annotated[Decimal, PlainSerializer(lambda d: f"{d:.2f}", return_type=str),
                      WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$"})]
#: Tonnes in a response: a string with exactly three decimals (kilogram precision).
TonnesText = Annotated[Decimal, PlainSerializer(lambda d: f"{d:.3f}", return_type=str),
                       WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{3}$"})]
#: A decimal in a response, as str() writes it ("3.1", "1.250").
DecimalText = Annotated[Decimal, PlainSerializer(str, return_type=str), WithJsonSchema({"type": "string"})]
#: A moment in a response: ISO 8601 in China Standard Time (+08:00).
Moment = Annotated[datetime, PlainSerializer(iso, return_type=str),
                   WithJsonSchema({"type": "string", "format": "date-time"})]
#: A date in a response: YYYY-MM-DD.
Day = Annotated[date, PlainSerializer(date.isoformat, return_type=str),
                WithJsonSchema({"type": "string", "format": "date"})]


class ErrorDetail(Output):
    code: str = Field(description="not_found, forbidden, conflict, bad_request, invalid, unauthorised, "
                                  "too_large, too_many_requests")
    message: str = Field(description="in the reader's language")
    field: str | None = Field(description="the input at fault, when there is one")


class ErrorBody(Output):
    """Every error the API answers with."""

    error: ErrorDetail


# --- pydantic's errors become ours ---------------------------------------------------------------------------

def _bounds(metadata: list[Any]) -> tuple[Any, Any]:
    lo = next((m.ge for m in metadata if isinstance(m, annotated_types.Ge)), None)
    hi = next((m.le for m in metadata if isinstance(m, annotated_types.Le)), None)
    return lo, hi


def _number(value: Any) -> str:
    return f"{value:,}"


def _field_metadata(model: type[BaseModel], loc: tuple[Any, ...]) -> list[Any]:
    """The constraints and markers of the field an error points at (the first level of its location), also
    those inside an optional type (`Blankable(Price)`)."""
    info = model.model_fields.get(str(loc[0])) if loc else None
    if info is None:
        return []
    return _flat(info.metadata) + _inner_metadata(info.annotation)


def _inner_metadata(kind: Any) -> list[Any]:
    out: list[Any] = []
    if get_origin(kind) is Annotated:
        out += _flat(kind.__metadata__) + _inner_metadata(get_args(kind)[0])
    elif get_origin(kind) in (Union, UnionType):
        for arg in get_args(kind):
            out += _inner_metadata(arg)
    return out


def message_for(error: Mapping[str, Any], metadata: list[Any]) -> Any:
    """The translated message for one pydantic error (a lazy string)."""
    kind, ctx = error["type"], error.get("ctx") or {}
    refusals = [m for m in metadata if isinstance(m, Refusal)]
    specific = next((r for r in refusals if kind in r.kinds), None)
    if specific is not None:
        return specific.message
    refusal = next((r for r in refusals if not r.kinds), None)
    if kind == "missing" or (kind != "extra_forbidden" and _is_blank(error.get("input"))):
        return _l("This field is required.")
    if kind == "extra_forbidden":
        return _l("Unknown field.")
    if refusal is not None and refusal.always:
        return refusal.message
    places = next((m.decimal_places for m in metadata if getattr(m, "decimal_places", None) is not None), None)
    if kind == "decimal_max_digits" and places is not None and _decimals(error.get("input")) > places:
        kind, ctx = "decimal_max_places", {"decimal_places": places}  # 1.23456 has too many places, not digits
    if kind in ("greater_than_equal", "less_than_equal", "decimal_max_digits", "greater_than", "less_than"):
        lo, hi = _bounds(metadata)
        if lo is not None and hi is not None:
            return _l("Must be between %(lo)s and %(hi)s.", lo=_number(lo), hi=_number(hi))
        lo = lo if lo is not None else ctx.get("ge", ctx.get("gt"))
        hi = hi if hi is not None else ctx.get("le", ctx.get("lt"))
        if hi is not None:
            return _l("Must be at most %(hi)s.", hi=_number(hi))
        if lo is not None:
            return _l("Must be at least %(lo)s.", lo=_number(lo))
        return _l("Too large a number.")
    if kind == "decimal_max_places":
        return _l("At most %(n)d decimals.", n=ctx["decimal_places"])
    if kind in ("string_too_long", "too_long"):
        return _l("At most %(max)d characters.", max=ctx.get("max_length", 0))
    if kind == "control_characters":
        return _l("This field contains characters that are not allowed.")
    if kind == "date_range":
        return _l("Enter a date between %(lo)d and %(hi)d.", lo=MIN_YEAR, hi=MAX_YEAR)
    if refusal is not None:
        return refusal.message
    if kind in ("whole_number", "int_parsing", "int_type", "int_from_float"):
        return _l("Enter a whole number.")
    if kind in ("number", "decimal_parsing", "decimal_type", "finite_number", "float_parsing", "float_type"):
        return _l("Enter a number.")
    if kind in ("iso_date", "date_parsing", "date_type", "date_from_datetime_parsing"):
        return _l("Enter a date as YYYY-MM-DD.")
    if kind in ("text", "string_type"):
        return _l("Enter text.")
    if kind in ("enum", "literal_error"):
        return _l("Not one of the allowed values.")
    if kind in ("bool_type", "bool_parsing"):
        return _l("Enter true or false.")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return _l("Give an object.")
    if kind in ("list_type", "set_type", "tuple_type"):
        return _l("Give a list.")
    return _l("This value is not valid.")


def _decimals(value: Any) -> int:
    """How many decimal places a number has (0 for anything else)."""
    try:
        exponent = Decimal(str(value)).normalize().as_tuple().exponent
    except (InvalidOperation, ValueError):
        return 0
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def field_name(loc: tuple[Any, ...]) -> str | None:
    """The dotted name of the input an error points at ("quality_limits.loi.max"); an item of a list is its
    list ("demand_listing_ids"); None for the body."""
    names: list[str] = []
    for part in loc:
        if isinstance(part, int):
            break
        names.append(str(part))
    return ".".join(names) or None


def refused(model: type[BaseModel], error: PydanticError) -> ValidationError:
    """Our ValidationError for pydantic's first error, naming its field."""
    first = error.errors(include_url=False)[0]
    loc = tuple(first["loc"])
    return ValidationError(message_for(first, _field_metadata(model, loc)), field=field_name(loc))


def validate(model: type[M], data: Any) -> M:
    """`data` (a JSON object, a form's values, an imported row) as `model`, or our ValidationError."""
    if not isinstance(data, Mapping):
        raise ValidationError(_l("Send a JSON object (Content-Type: application/json)."), field=None)
    try:
        return model.model_validate(dict(data))
    except PydanticError as e:
        raise refused(model, e) from None


def limits(model: type[BaseModel], name: str) -> dict[str, Any]:
    """HTML attributes for a form field from a schema's field: maxlength, min, max."""
    info = model.model_fields[name]
    out: dict[str, Any] = {}
    for m in _flat(info.metadata) + _inner_metadata(info.annotation):
        if isinstance(m, annotated_types.MaxLen):
            out["maxlength"] = m.max_length
        elif isinstance(m, annotated_types.Ge):
            out["min"] = m.ge
        elif isinstance(m, annotated_types.Le):
            out["max"] = m.le
    return out


def partial(model: type[M], name: str) -> type[M]:
    """The same schema with every field optional (a change names only what changes). An absent field stays
    unset; a field given, even as null, is validated as in `model`: a required value cannot be nulled."""
    fields: dict[str, Any] = {n: (info.annotation, FieldInfo.merge_field_infos(info, default=None))
                              for n, info in model.model_fields.items()}
    changed: type[M] = create_model(name, __base__=model.__base__, __doc__=model.__doc__, **fields)  # type: ignore[assignment,unused-ignore]
    return changed  # type: ignore[return-value,unused-ignore]


def validate_value(kind: Any, value: Any, field: str) -> Any:
    """One value as the Annotated type `kind` (a schema's field type), or our ValidationError naming `field`:
    for values whose names are data (a material's quality parameters)."""
    try:
        return TypeAdapter(kind).validate_python(value)
    except PydanticError as e:
        first = e.errors(include_url=False)[0]
        return _raise(ValidationError(message_for(first, _inner_metadata(kind)), field=field))


def _flat(metadata: Any) -> list[Any]:
    """Annotated metadata with each Field(...) opened into its constraints."""
    out: list[Any] = []
    for m in metadata:
        out += _flat(m.metadata) if isinstance(m, FieldInfo) else [m]
    return out


def _raise(error: ValidationError) -> Any:
    raise error
