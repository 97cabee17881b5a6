"""The claim dossier: the papers_world deliveries (30 t + 19.5 t counted) against a 10 t baseline make an
increment of 39.5 t at 10 yuan/t = 395.00 yuan; ticket T-2's receipt differs by 2.5 % (flagged, counted at
the smaller weight). Only the claimant and regulators read it."""
import json
from decimal import Decimal

import pytest

from marketplace.models import Baseline
from marketplace.services import subsidies
from tests.web import papers_world
from tests.web.conftest import login


@pytest.fixture
def claim(db, make_user, make_site):
    world = papers_world.build(db, make_user, make_site)
    year = int(world.month[:4])
    db.session.add(Baseline(organisation_id=world.consumer.organisation_id,
                            year=subsidies.scheme_in_force(year).base_year, tonnes=Decimal("10"),
                            evidence="2018年统计年报", status="approved"))
    db.session.commit()
    claim = subsidies.prepare_claim(world.consumer, year)
    subsidies.submit_claim(world.consumer, claim.id)
    db.session.commit()
    return world, claim


def test_the_dossier_has_the_hand_computed_figures_flags_trail_and_checkpoint(client, claim, tmp_path):
    world, c = claim
    login(client, world.consumer)
    doc = json.loads(client.get(f"/papers/claims/{c.id}/dossier", query_string={"format": "json"}).get_data())
    assert (doc["claim"]["increment_tonnes"], doc["claim"]["amount_yuan"]) == ("39.500", "395.00")
    assert doc["baseline"] == {"year": 2018, "tonnes": "10.000", "evidence": "2018年统计年报", "status": "approved"}
    assert doc["by_agreement"] == [{"agreement": world.agreement.id, "producer": world.producer_org.name,
                                    "material": "fly_ash", "use": world.agreement.use, "tickets": 2,
                                    "tonnes": "49.500"}]
    assert [(f["ticket_no"], f["flag"], f["resolution"]) for f in doc["flags"]] == [
        ("T-2", "receipt_difference", "counted_smaller")]
    assert [e["action"] for e in doc["review_trail"]] == ["prepared", "submitted"]
    assert doc["checkpoint"]["seq"] == 2
    r = client.get(f"/papers/claims/{c.id}/dossier")
    text = papers_world.pdf_text(r.data, tmp_path)
    for expected in (world.consumer.organisation.name, "39.500", "395.00", "49.500", "2018年统计年报", "T-2",
                     doc["checkpoint"]["root"][:20]):
        assert expected in text, expected


def test_a_regulator_reads_any_dossier(client, claim, make_user):
    _, c = claim
    login(client, make_user(kind="regulator"))
    assert client.get(f"/papers/claims/{c.id}/dossier").mimetype == "application/pdf"


@pytest.mark.parametrize("kind", ["producer", "consumer"])
@pytest.mark.parametrize("fmt", ["pdf", "json", "html"])
def test_another_firm_gets_404(app, client, claim, make_user, kind, fmt):
    world, c = claim
    login(client, make_user(kind=kind))
    assert client.get(f"/papers/claims/{c.id}/dossier", query_string={"format": fmt}).status_code == 404
    supplier = app.test_client()  # the supplier of the claimed tonnes is not the claimant either
    login(supplier, world.producer)
    assert supplier.get(f"/papers/claims/{c.id}/dossier", query_string={"format": fmt}).status_code == 404


def test_bad_format_and_missing_claim(client, claim):
    world, c = claim
    login(client, world.consumer)
    assert client.get(f"/papers/claims/{c.id}/dossier", query_string={"format": "docx"}).status_code == 400
    assert client.get("/papers/claims/999999/dossier").status_code == 404
    assert "claim-dossier" in client.get(f"/subsidies/claims/{c.id}").get_data(as_text=True)
