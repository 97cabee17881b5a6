"""CO2 certificates. The 49.5 t of fly ash of tests/web/papers_world.py went into cement 40 km away by road:
avoided 49.5 x 1 (t clinker per t) x 0.808 = 39.996 t CO2; transport 49.5 x 40 x 0.1 kg / 1000 = 0.198 t;
net 39.798 t. The public page a QR code opens shows figures and ledger evidence, never who or where."""
import json
import re

import pytest
from sqlalchemy import select

from marketplace.models import Co2Certificate, LedgerCheckpoint
from tests.web import papers_world
from tests.web.conftest import login, post_form


@pytest.fixture
def world(db, make_user, make_site):
    return papers_world.build(db, make_user, make_site)


def issue(client, world, scope="agreement"):
    r = post_form(client, "/papers/co2", {"scope": scope, "agreement_id": world.agreement.id,
                                          "year": world.month[:4]}, page="/papers/co2")
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    return r.headers["Location"]


def test_a_certificate_has_the_hand_computed_figures_and_rests_on_a_checkpoint(client, world, db):
    login(client, world.consumer)
    location = issue(client, world)
    certificate = db.session.scalar(select(Co2Certificate))
    assert (str(certificate.tonnes), str(certificate.avoided_t), str(certificate.transport_t),
            str(certificate.net_t)) == ("49.500", "39.996", "0.198", "39.798")
    checkpoint = db.session.get(LedgerCheckpoint, certificate.checkpoint_id)
    assert checkpoint.seq == 2 and certificate.entry_seqs == [1, 2]
    assert len(certificate.token) == 43 and location.endswith(f"/papers/co2/{certificate.token}")
    data = json.loads(client.get(f"/papers/co2/{certificate.token}.json").get_data())
    assert data["net_t"] == "39.798" and data["method"]["clinker_t_co2_per_t"] == "0.808"
    assert data["checkpoint"]["root"] == checkpoint.root


def test_the_year_certificate_of_the_producer_counts_its_deliveries(client, world, db):
    login(client, world.producer)
    issue(client, world, scope="year")
    certificate = db.session.scalar(select(Co2Certificate))
    assert certificate.scope == "year" and str(certificate.net_t) == "39.798"


def test_the_public_page_shows_no_counterparty_identity_or_place(app, client, world, db):
    login(client, world.consumer)
    issue(client, world)
    token = db.session.scalar(select(Co2Certificate.token))
    stranger = app.test_client()  # no login at all
    for url in (f"/papers/co2/{token}", f"/papers/co2/{token}.json"):
        r = stranger.get(url)
        assert r.status_code == 200
        body = r.get_data(as_text=True)
        assert ("40" in body) and "39.798" not in body  # the net, rounded: no figure gives the haul
        for secret in (world.producer_org.name, world.consumer.organisation.name,
                       world.producer_org.credit_code, world.consumer.organisation.credit_code,
                       world.site.name, "Lingwu", "Yinchuan", "38.0575", "106.6914", "T-1", "T-2", "40.0"):
            assert secret not in body, (url, secret)
    assert stranger.get(f"/papers/co2/{token}.pdf").status_code in (302, 401)  # the PDF is the holders'
    public = stranger.get(f"/papers/co2/{token}.json").get_json()
    assert (public["detail"], public["net_t"], public["tonnes"], public["avoided_t"], public["transport_t"]) == \
        ("net", "40", None, None, None)
    held = client.get(f"/papers/co2/{token}.json").get_json()  # the utiliser who holds it sees every figure
    assert (held["detail"], held["net_t"], held["tonnes"]) == ("full", "39.798", "49.500")
    assert "39.798" in client.get(f"/papers/co2/{token}").get_data(as_text=True)


@pytest.mark.parametrize("token", ["x", "A" * 43, "../../etc/passwd", "A" * 1000])
def test_unknown_or_malformed_certificate_ids_are_404(client, token):
    assert client.get(f"/papers/co2/{token}").status_code == 404


def test_the_pdf_carries_the_figures_and_a_qr_code_to_the_public_page(client, world, db, tmp_path):
    login(client, world.consumer)
    issue(client, world)
    token = db.session.scalar(select(Co2Certificate.token))
    r = client.get(f"/papers/co2/{token}.pdf")
    assert r.mimetype == "application/pdf"
    text = re.sub(r"\s+", "", papers_world.pdf_text(r.data, tmp_path))
    for expected in ("39.996", "0.198", "39.798", "49.500", token, "GB/T32151.8-2015"):
        assert expected in text, expected
    assert world.producer_org.name not in text


def test_the_qr_code_encodes_the_public_page_a_stranger_can_open(app, client, world, db, monkeypatch):
    from marketplace.papers import routes
    from marketplace.services.papers import co2

    login(client, world.consumer)
    issue(client, world)
    token = db.session.scalar(select(Co2Certificate.token))
    seen = []
    monkeypatch.setattr(routes, "pdf", lambda html: seen.append(html) or b"%PDF-")
    client.get(f"/papers/co2/{token}.pdf")
    url = f"http://localhost/papers/co2/{token}"
    assert co2.qr_data_uri(url) in seen[0]  # segno's encoding of exactly that URL is drawn
    assert app.test_client().get(url).status_code == 200


def test_only_the_parties_issue_and_hold_it(app, client, world, db, make_user):
    login(client, make_user(kind="consumer"))
    r = post_form(client, "/papers/co2", {"scope": "agreement", "agreement_id": world.agreement.id,
                                          "year": world.month[:4]}, page="/papers/co2")
    assert r.status_code in (400, 404) and db.session.scalar(select(Co2Certificate)) is None
    holder = app.test_client()
    login(holder, world.consumer)
    issue(holder, world)
    token = db.session.scalar(select(Co2Certificate.token))
    assert client.get(f"/papers/co2/{token}.pdf").status_code == 404  # another firm: not its certificate
    assert token not in client.get("/papers/co2").get_data(as_text=True)
    producer = app.test_client()
    login(producer, world.producer)  # the other party holds it too
    assert producer.get(f"/papers/co2/{token}.pdf").status_code == 200
    assert token in producer.get("/papers/co2").get_data(as_text=True)


@pytest.mark.parametrize("data,message", [
    ({"scope": "agreement", "year": "2099"}, "has not begun"),
    ({"scope": "agreement", "year": "20x6"}, ""),
    ({"scope": "galaxy", "year": "2026"}, ""),
    ({"scope": "year", "year": "2001"}, "No confirmed deliveries"),
])
def test_bad_requests_are_form_errors(client, world, db, data, message):
    login(client, world.consumer)
    client.get("/lang/en")
    r = post_form(client, "/papers/co2", {"agreement_id": world.agreement.id, **data}, page="/papers/co2")
    assert r.status_code == 400 and message in r.get_data(as_text=True)
    assert db.session.scalar(select(Co2Certificate)) is None


def test_staff_read_certificates_but_do_not_issue_them(app, client, world, db, make_user):
    holder = app.test_client()
    login(holder, world.consumer)
    issue(holder, world)
    token = db.session.scalar(select(Co2Certificate.token))
    login(client, make_user(kind="regulator"))
    assert client.get(f"/papers/co2/{token}.pdf").status_code == 200
    r = post_form(client, "/papers/co2", {"scope": "year", "year": world.month[:4]}, page="/papers/co2")
    assert r.status_code == 403 and db.session.query(Co2Certificate).count() == 1
