"""A small world for the papers' tests, with figures to compute by hand.

Last month (China Standard Time) producer P's site 一号灰场 (Yinchuan) declared fly ash: opening stock 20 t,
generated 100 t, used in-house 10 t, put into storage 35 t, disposed 5 t, closing stock 55.5 t. Through the
platform it shipped two trucks to utiliser C: tickets T-1 (30 t) and T-2 (20 t; C weighed 19.5 t, the ledger
counts the smaller), so 49.5 t, to a cement works 40 km away by road. The month balances:
20 + 100 = 10 + 49.5 + 5 + 55.5. A closing stock declared 1 t lower leaves 1 t unexplained: shown, not hidden."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from marketplace.clock import CST, today_cst, utcnow
from marketplace.models import Agreement, GenerationRecord, Organisation, Site, User
from marketplace.services import catalogue, deliveries
from marketplace.services.papers.periods import previous_month
from tests.web.deals import make_agreement


@dataclass
class World:
    producer: User
    consumer: User
    agreement: Agreement
    site: Site
    month: str  # "YYYY-MM" of last month
    record: GenerationRecord

    @property
    def producer_org(self) -> Organisation:
        return self.producer.organisation


def build(db, make_user, make_site, closing="55.500") -> World:
    month = previous_month(today_cst().replace(day=1))
    producer = make_user(kind="producer")
    site = make_site(producer.organisation, name="一号灰场", lat="38.0575", lon="106.6914")
    agreement, producer, consumer = make_agreement(make_user, make_site, tonnes=100, producer=producer,
                                                   producer_site=site)
    agreement.created_at = utcnow() - timedelta(days=70)
    agreement.use, agreement.distance_km = "cement", Decimal("40.0")  # round figures for the CO2 certificate
    db.session.commit()
    for n, (day, net, received) in enumerate([(10, 30_000, 30_000), (20, 20_000, 19_500)], start=1):
        shipment = deliveries.record_shipment(producer, agreement.id, {
            "ticket_no": f"T-{n}", "truck_plate": "宁A12345", "gross_kg": 15_000 + net, "tare_kg": 15_000,
            "dispatched_at": datetime(month.year, month.month, day, 10, 0, tzinfo=CST).isoformat()})
        deliveries.confirm_shipment(consumer, shipment.id, received)
    record = GenerationRecord(site_id=site.id, material_id=catalogue.material_by_code("fly_ash").id, month=month,
                              tonnes_generated=Decimal("100"), tonnes_used_in_house=Decimal("10"),
                              tonnes_stored=Decimal("35"), tonnes_disposed=Decimal("5"),
                              tonnes_transferred_other=Decimal(0), other_receivers="",
                              stock_opening=Decimal("20"), stock_closing=Decimal(closing))
    db.session.add(record)
    db.session.commit()
    return World(producer, consumer, agreement, site, f"{month:%Y-%m}", record)


def pdf_text(body: bytes, tmp_path) -> str:
    """What pdftotext (poppler-utils) reads back from a PDF."""
    assert body.startswith(b"%PDF-"), body[:200]
    path = tmp_path / "paper.pdf"
    path.write_bytes(body)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
