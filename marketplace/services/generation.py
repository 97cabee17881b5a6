"""Producers' monthly declarations of generated waste."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..clock import CST, today_cst  # noqa: F401  (CST re-exported for older imports)
from ..errors import PermissionDenied, ValidationError
from ..extensions import db
from ..models import GenerationRecord, Site, User
from ..schemas.common import validate
from ..schemas.sites import GenerationFigures, GenerationQuery
from . import audit
from .catalogue import material_by_code
from .sites import get_own_site


def parse_month(value: str, today: date | None = None) -> date:
    """'2026-03' -> date(2026, 3, 1); the month may not lie in the future (China Standard Time)."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", (value or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise ValidationError(_l("Enter a month as YYYY-MM."), field="month")
    month = date(int(match.group(1)), int(match.group(2)), 1)
    today = today or today_cst()
    if month > today.replace(day=1):
        raise ValidationError(_l("The month lies in the future."), field="month")
    return month


def record_generation(actor: User, site_id: int, material_code: str, month: str, generated: object,
                      used_in_house: object, stored: object, *, disposed: object = "0",
                      transferred_other: object = "0", other_receivers: object = "", stock_opening: object = None,
                      stock_closing: object = None) -> GenerationRecord:
    """Declare (or correct) one site's generation of one material in one month.

    For the solid-waste ledger (台账) the declaration also holds what the platform cannot know: tonnes disposed,
    tonnes handed to units outside the platform (and who they are), and the storage stock counted at the
    month's start (blank: last month's closing) and end. A correction is kept in the audit log with the
    figures it replaced, so a ledger exported before it can be explained."""
    org = actor.organisation
    if not org.is_producer:
        raise PermissionDenied(_l("Only producers declare generated waste."))
    if not org.is_verified:
        raise PermissionDenied(_l("Your organisation must be verified first."))
    site = get_own_site(actor, site_id)
    if not site.active:
        raise ValidationError(_l("This site is archived."), field="site_id")
    material = material_by_code(material_code)
    if material is None:
        raise ValidationError(_l("Unknown material."), field="material")
    figures = validate(GenerationFigures, {
        "month": month, "tonnes_generated": generated, "tonnes_used_in_house": used_in_house,
        "tonnes_stored": stored, "tonnes_disposed": disposed, "tonnes_transferred_other": transferred_other,
        "other_receivers": other_receivers, "stock_opening": stock_opening, "stock_closing": stock_closing})
    month_date = parse_month(figures.month)
    gen, in_house, stored_t = figures.tonnes_generated, figures.tonnes_used_in_house, figures.tonnes_stored
    if in_house + stored_t > gen:
        raise ValidationError(_l("Used in-house plus stored cannot exceed what was generated."),
                              field="tonnes_stored")
    disposed_t, other_t = figures.tonnes_disposed, figures.tonnes_transferred_other
    receivers = figures.other_receivers
    if other_t and not receivers:
        raise ValidationError(_l("Name the receiving units (name, credit code, use) of what went elsewhere."),
                              field="other_receivers")
    opening, closing = figures.stock_opening, figures.stock_closing
    record = db.session.scalar(select(GenerationRecord).where(
        GenerationRecord.site_id == site.id, GenerationRecord.material_id == material.id,
        GenerationRecord.month == month_date))
    if record is None:
        record = GenerationRecord(site_id=site.id, material_id=material.id, month=month_date)
        db.session.add(record)
    else:
        audit.record(actor, "generation.correct", record, {"before": declared_figures(record)})
    record.tonnes_generated = gen
    record.tonnes_used_in_house = in_house
    record.tonnes_stored = stored_t
    record.tonnes_disposed = disposed_t
    record.tonnes_transferred_other = other_t
    record.other_receivers = receivers
    record.stock_opening = opening
    record.stock_closing = closing
    record.recorded_by_id = actor.id
    db.session.flush()
    return record


def declared_figures(record: GenerationRecord) -> dict:
    """A declaration's figures as plain strings (kept in the audit log when it is corrected)."""
    return {"month": f"{record.month:%Y-%m}", "site_id": record.site_id, "material_id": record.material_id,
            **{name: None if getattr(record, name) is None else f"{getattr(record, name):.3f}" for name in (
                "tonnes_generated", "tonnes_used_in_house", "tonnes_stored", "tonnes_disposed",
                "tonnes_transferred_other", "stock_opening", "stock_closing")},
            "other_receivers": record.other_receivers}


@dataclass(frozen=True)
class GenerationFilter:
    year: int | None = None
    site_id: int | None = None
    material_id: int | None = None

    @property
    def active(self) -> bool:
        return bool(self.year or self.site_id or self.material_id)


def generation_filter(org_id: int, query: GenerationQuery) -> GenerationFilter:
    """The validated query's filters, the site checked to be the organisation's and the material to exist."""
    site_id = None
    if query.site is not None:
        site = db.session.get(Site, query.site)
        if site is None or site.organisation_id != org_id:
            raise ValidationError(_l("No such site in your organisation."), field="site")
        site_id = site.id
    material_id = None
    if query.material:
        material = material_by_code(query.material)
        if material is None:
            raise ValidationError(_l("Unknown material."), field="material")
        material_id = material.id
    return GenerationFilter(year=query.year, site_id=site_id, material_id=material_id)


def records_of(org_id: int, filters: GenerationFilter | None = None, page: int = 1, per_page: int = 24) -> Pagination:
    """One page of an organisation's declarations, newest month first, narrowed by `filters`: two statements
    (the count and the page with its sites and materials)."""
    query = (select(GenerationRecord).join(Site).where(Site.organisation_id == org_id)
             .options(joinedload(GenerationRecord.site), joinedload(GenerationRecord.material))
             .order_by(GenerationRecord.month.desc(), Site.name, GenerationRecord.material_id, GenerationRecord.id))
    f = filters or GenerationFilter()
    if f.year:
        query = query.where(GenerationRecord.month >= date(f.year, 1, 1),
                            GenerationRecord.month < date(f.year + 1, 1, 1))
    if f.site_id:
        query = query.where(GenerationRecord.site_id == f.site_id)
    if f.material_id:
        query = query.where(GenerationRecord.material_id == f.material_id)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)
