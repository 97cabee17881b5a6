"""The regulator's periodic report: general industrial solid waste by city and by category for a half-year or a
year - generated, utilised, stored, disposed, utilisation rate - in the figures of the dashboard
(services/dashboard.py, deliveries.utilisation): the same function computes both."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from ...extensions import db
from ...models import Material
from .. import dashboard, deliveries
from .periods import Period


@dataclass
class RegionalReport:
    period: Period
    by_city: list[dict[str, Any]]
    by_category: list[dict[str, Any]]
    overall: dict[str, Any]


def _with_utilised(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with its utilised tonnes: generated - stored - disposed (the rate's numerator)."""
    def utilised(row: dict[str, Any]) -> Decimal:
        return Decimal(row["generated_t"]) - Decimal(row["stored_t"]) - Decimal(row["disposed_t"])

    return [{**row, "utilised_t": f"{utilised(row):.3f}"} for row in rows]


def regional_report(period: Period) -> RegionalReport:
    """The report of a half-year or a year (Period from parse_period(..., ("half", "year")))."""
    year, months = period.start.year, (period.start.month, period.last_day.month)
    by_city = _with_utilised(deliveries.utilisation(year, "city", months))
    by_category = _with_utilised(deliveries.utilisation(year, "material", months))
    materials = {m.code: m for m in db.session.scalars(select(Material))}
    for row in by_category:
        material = materials.get(row["group"])
        row["waste_code"] = material.waste_code or "" if material else ""
        row["name_zh"] = material.name_zh if material else row["group"]
    return RegionalReport(period, by_city, by_category, dashboard.overall(by_city))


_HEADERS = ["产生量(t)", "综合利用量(t)", "贮存量(t)", "处置量(t)", "综合利用率(%)", "其中经平台利用量(t)"]


def _figures(row: dict[str, Any]) -> list[Any]:
    rate = row["utilisation_rate"]
    return [float(row["generated_t"]), float(row["utilised_t"]), float(row["stored_t"]), float(row["disposed_t"]),
            None if rate is None else float(Decimal(rate) * 100), float(row["utilised_platform_t"])]


def report_workbook(report: RegionalReport) -> bytes:
    """The report as the city industry bureaus' tables: by city, then by category."""
    from ...gazetteer import city_label
    from .documents import workbook

    title = f"一般工业固体废物产生及综合利用情况表（{report.period.label}）"
    overall = report.overall
    total = ["合计", float(overall["generated"]), float(overall["used"]), None, None,
             None if overall["rate"] is None else float(overall["rate"] * 100), float(overall["platform"])]
    return workbook([
        ("按地市", [title, "单位：吨"], ["地市", *_HEADERS],
         [[city_label(row["group"], "zh"), *_figures(row)] for row in report.by_city] + [total]),
        ("按类别", [title, "单位：吨"], ["废物代码", "类别", *_HEADERS],
         [[row["waste_code"], row["name_zh"], *_figures(row)] for row in report.by_category]),
    ])
