"""The versioned reference data of the papers: factors with their source, and the VAT catalogue's rows."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ...errors import NotFound
from ...extensions import db
from ...models import ReferenceFactor, VatCatalogueRow


def factor(key: str, on: date) -> ReferenceFactor | None:
    """The newest version of `key` in force on `on` (None when the key has no value then)."""
    return db.session.scalar(select(ReferenceFactor).where(ReferenceFactor.key == key,
                                                           ReferenceFactor.effective_from <= on)
                             .order_by(ReferenceFactor.version.desc()).limit(1))


def required_factor(key: str, on: date) -> ReferenceFactor:
    found = factor(key, on)
    if found is None:
        raise NotFound(_l("No reference value %(key)s is in force on %(day)s.", key=key, day=on.isoformat()))
    return found


def vat_rows(on: date) -> list[VatCatalogueRow]:
    """The catalogue version in force on `on`: its rows."""
    version = db.session.scalar(select(VatCatalogueRow.version).where(VatCatalogueRow.effective_from <= on)
                                .order_by(VatCatalogueRow.version.desc()).limit(1))
    if version is None:
        return []
    return list(db.session.scalars(select(VatCatalogueRow).where(VatCatalogueRow.version == version)
                                   .order_by(VatCatalogueRow.id)))
