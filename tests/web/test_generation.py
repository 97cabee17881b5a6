"""Producers' monthly generation declarations."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.models import GenerationRecord
from tests.web.conftest import post_form

GOOD = {"material": "fly_ash", "month": "2026-03", "tonnes_generated": "42000.5",
        "tonnes_used_in_house": "1200", "tonnes_stored": "20000"}


def count(db):
    return db.session.scalar(select(func.count(GenerationRecord.id)))


@pytest.fixture
def producer(logged_in, make_site):
    client, user = logged_in(kind="producer")
    site = make_site(user.organisation)
    return client, user, site


def test_record_and_correct_a_month(producer, db):
    client, user, site = producer
    r = post_form(client, "/generation/", {**GOOD, "site_id": site.id})
    assert r.status_code == 302
    record = db.session.scalar(select(GenerationRecord))
    assert record.tonnes_generated == Decimal("42000.500") and record.recorded_by_id == user.id
    post_form(client, "/generation/", {**GOOD, "site_id": site.id, "tonnes_generated": "43000"})
    assert count(db) == 1
    db.session.refresh(record)
    assert record.tonnes_generated == Decimal("43000.000")
    assert "43,000.000" in client.get("/generation/").get_data(as_text=True)


@pytest.mark.parametrize("field,value,message", [
    ("tonnes_generated", "-5", "cannot be negative"),
    ("tonnes_generated", "1e12", "At most 1,000,000 t"),
    ("tonnes_generated", "ten", "Enter a number of tonnes"),
    ("tonnes_generated", "1.0001", "three decimals"),
    ("tonnes_stored", "50000", "cannot exceed what was generated"),
    ("material", "uranium", "Not a valid choice"),
    ("month", "2026-13", "YYYY-MM"),
    ("month", "2999-01", "in the future"),
    ("month", "x" * 100_000, "At most 7 characters"),
])
def test_bad_generation_input_is_refused(producer, db, field, value, message):
    client, _, site = producer
    client.get("/lang/en")
    r = post_form(client, "/generation/", {**GOOD, "site_id": site.id, field: value})
    assert r.status_code == 200
    assert message in r.get_data(as_text=True)
    assert count(db) == 0


def test_cannot_record_for_a_site_of_another_organisation(producer, make_user, make_site, db):
    client, _, _ = producer
    other_site = make_site(make_user().organisation)
    client.get("/lang/en")
    r = post_form(client, "/generation/", {**GOOD, "site_id": other_site.id})
    assert "Not a valid choice" in r.get_data(as_text=True)
    assert count(db) == 0


def test_unverified_producer_cannot_record(logged_in, make_site, db):
    client, user = logged_in(kind="producer", verified=False)
    site = make_site(user.organisation)
    r = post_form(client, "/generation/", {**GOOD, "site_id": site.id})
    assert r.status_code == 403
    assert count(db) == 0


@pytest.mark.parametrize("kind", ["consumer", "regulator", "operator"])
def test_only_producers_declare_generation(logged_in, kind, db):
    client, _ = logged_in(kind=kind)
    assert client.get("/generation/").status_code == 403
    assert post_form(client, "/generation/", GOOD).status_code == 403
