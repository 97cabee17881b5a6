"""What a review of the papers as an attacker and an auditor found: a receipt a regulator reversed proved waste
for a VAT refund; an unverified sign-up made the platform verify its whole ledger at will; the same delivery's
CO2 could be certified again and again; a regulator's `?org=` beyond the id column was a 500."""
from decimal import Decimal
from unittest import mock

import pytest
from sqlalchemy import func, select

from marketplace.models import Co2Certificate, LedgerEntry, User
from marketplace.services import corrections, ledger
from marketplace.services.papers import tax_evidence
from marketplace.services.papers.periods import parse_period
from tests.web import papers_world
from tests.web.conftest import login, post_form
from tests.web.test_papers_tax import declare


def refused_as_certified(response) -> bool:
    """The page says the deliveries are already certified, in either language it may be in."""
    body = response.get_data(as_text=True)
    return "already certified" in body or "已开具过减排证书" in body


@pytest.fixture
def world(db, make_user, make_site):
    return papers_world.build(db, make_user, make_site)


def test_a_reversed_receipt_proves_no_waste_for_the_vat_refund(db, world, make_user):
    declare(db, world, "bricks_blocks", "70")
    before = tax_evidence.vat_evidence(world.consumer.organisation, parse_period(world.month))
    assert before.months[0].proven_waste_t == Decimal("49.500") and before.months[0].qualifies
    operator = make_user(kind="operator")
    first = db.session.scalar(select(LedgerEntry).order_by(LedgerEntry.seq))
    corrections.reverse_entry(operator, first.id, "称重记录有误")
    db.session.commit()
    [month] = tax_evidence.vat_evidence(world.consumer.organisation, parse_period(world.month)).months
    assert month.proven_waste_t == Decimal("19.500")  # T-2 only: T-1 was struck out
    assert first.seq not in month.receipts and not month.qualifies


def test_an_unverified_firm_cannot_make_the_platform_verify_its_ledger(client, db, make_user, world):
    stranger = make_user(kind="consumer", verified=False)
    login(client, stranger)
    with mock.patch.object(ledger, "verify_ledger", wraps=ledger.verify_ledger) as verify:
        for _ in range(3):
            r = post_form(client, "/papers/co2", {"scope": "year", "year": world.month[:4]}, page="/papers/co2")
            assert r.status_code in (400, 403)
    assert verify.call_count == 0


def test_a_firm_with_nothing_to_certify_does_not_make_the_platform_verify_its_ledger(client, db, make_user,
                                                                                     world):
    idle = make_user(kind="consumer")
    login(client, idle)
    with mock.patch.object(ledger, "verify_ledger", wraps=ledger.verify_ledger) as verify:
        r = post_form(client, "/papers/co2", {"scope": "year", "year": world.month[:4]}, page="/papers/co2")
    assert r.status_code == 400 and verify.call_count == 0


def test_a_delivery_is_certified_once_whoever_asks(client, app, db, world):
    login(client, world.consumer)
    data = {"scope": "agreement", "agreement_id": world.agreement.id, "year": world.month[:4]}
    assert post_form(client, "/papers/co2", data, page="/papers/co2").status_code == 302
    again = post_form(client, "/papers/co2", data, page="/papers/co2")
    assert again.status_code == 400 and refused_as_certified(again)
    producer = app.test_client()
    login(producer, world.producer)
    year = post_form(producer, "/papers/co2", {"scope": "year", "year": world.month[:4]}, page="/papers/co2")
    assert year.status_code == 400 and refused_as_certified(year)
    assert db.session.scalar(select(func.count(Co2Certificate.id))) == 1


def test_two_certificates_issued_at_the_same_moment_cannot_both_count_a_delivery(client, app, db, world,
                                                                                 monkeypatch):
    """The rule is a primary key: a second issue that passed the check before the first committed is refused."""
    from marketplace.models import Co2CertifiedEntry

    login(client, world.consumer)
    data = {"scope": "agreement", "agreement_id": world.agreement.id, "year": world.month[:4]}
    real = ledger.checkpoint_for_claim

    def the_other_issue_commits_meanwhile(actor):
        checkpoint = real(actor)
        other = Co2Certificate(token="t" * 43, scope="year", organisation_id=world.producer_org.id,
                               year=int(world.month[:4]), material="粉煤灰", tonnes=1, avoided_t=1, transport_t=0,
                               net_t=1, method={}, entry_seqs=[1], entries_digest="0" * 64,
                               checkpoint_id=checkpoint.id)
        db.session.add(other)
        db.session.flush()
        db.session.add(Co2CertifiedEntry(entry_seq=1, certificate_id=other.id))
        db.session.flush()
        return checkpoint

    monkeypatch.setattr(ledger, "checkpoint_for_claim", the_other_issue_commits_meanwhile)
    r = post_form(client, "/papers/co2", data, page="/papers/co2")
    assert r.status_code == 400 and refused_as_certified(r)
    assert db.session.scalar(select(func.count(Co2Certificate.id))) == 0  # the request's work rolled back


@pytest.mark.parametrize("url", ["/papers/ledger", "/papers/vat", "/papers/env-tax"])
def test_an_organisation_id_beyond_the_column_is_not_found(client, make_user, url):
    login(client, make_user(kind="regulator"))
    assert client.get(f"{url}?org={'9' * 30}").status_code == 404


def test_users_of_the_world_exist(db, world):  # the fixture's two firms are verified: the tests above rely on it
    assert all(u.organisation.is_verified for u in (world.producer, world.consumer))
    assert db.session.scalar(select(func.count(User.id))) >= 2
