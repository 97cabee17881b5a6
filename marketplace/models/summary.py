"""Summaries kept beside the rows they sum, in the same transaction, so that pages never scan the ledger."""
from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model


class LedgerMonthTotal(Model):
    """Net kilograms of the ledger (reversals included) per dispatch month (China Standard Time), dispatching
    site, receiving site, producer and material: what the utilisation tables and the dashboard read instead of
    the entries.
    Added to by every ledger append (services/summaries.py), under the ledger head's lock."""

    __tablename__ = "ledger_month_total"
    __table_args__ = (UniqueConstraint("month", "site_id", "consumer_site_id", "producer_org_id",
                                       "material", name="uq_ledger_month_total_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The first day of the dispatch month, CST.
    month: Mapped[date] = mapped_column(Date, index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    #: The receiving site (the dashboard's flow map draws dispatch site -> receiving site).
    consumer_site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    producer_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    material: Mapped[str] = mapped_column(String(40))
    net_kg: Mapped[int] = mapped_column(BigInteger, default=0)

    def __repr__(self) -> str:
        return f"<LedgerMonthTotal {self.month:%Y-%m} site={self.site_id} {self.material} {self.net_kg} kg>"
