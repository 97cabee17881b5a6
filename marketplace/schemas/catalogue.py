"""The material catalogue and the caller's sites, as the API lists them."""
from __future__ import annotations

from pydantic import Field

from .common import DecimalText, MoneyText, Output


class ParameterOut(Output):
    code: str
    unit: str
    name_zh: str
    name_en: str


class MaterialOut(Output):
    code: str
    name_zh: str
    name_en: str
    grades: list[str]
    parameters: list[ParameterOut]
    env_tax_yuan_per_t: MoneyText = Field(description="the environmental protection tax a tonne stored costs")


class MaterialList(Output):
    items: list[MaterialOut]


class SiteOut(Output):
    id: int
    name: str
    lat: DecimalText
    lon: DecimalText
    city: str | None
    county: str | None
    industrial_park: str | None
    rail_siding: bool
    active: bool
    is_default: bool = Field(False, description="the site the firm's forms pre-select")


class SiteList(Output):
    items: list[SiteOut]
