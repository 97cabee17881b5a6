"""The materials catalogue is read once per process (services/catalogue.py), and never served stale to a
transaction that writes it or after one did."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from marketplace.models import Material
from marketplace.services import catalogue
from tests.web.test_scale import statements


def catalogue_statements(db, client, url: str) -> int:
    """How many statements reading the catalogue's tables a GET of `url` sends."""
    with statements(db) as sent:
        assert client.get(url).status_code == 200
    return len([s for s in sent if "FROM material" in s])


def test_the_catalogue_is_read_by_the_first_request_only(app, db, client):
    catalogue.forget()
    assert catalogue_statements(db, client, "/materials") == 3  # materials, their grades, their parameters
    assert catalogue_statements(db, client, "/materials") == 0
    assert "粉煤灰" in client.get("/materials").get_data(as_text=True)


def test_the_snapshot_says_what_the_tables_say(app, db):
    catalogue.forget()
    rows = list(db.session.scalars(select(Material).options(selectinload(Material.grades),
                                                            selectinload(Material.parameters)).order_by(Material.id)))
    snapshot = catalogue.materials()
    assert len(snapshot) == len(rows) >= 5
    for entry, m in zip(snapshot, rows, strict=True):
        assert (entry.id, entry.code, entry.name_zh, entry.name_en, entry.standard, entry.env_tax_yuan_per_t,
                entry.waste_code) == (m.id, m.code, m.name_zh, m.name_en, m.standard, m.env_tax_yuan_per_t,
                                      m.waste_code)
        assert entry.grade_codes == m.grade_codes and [g.rank for g in entry.grades] == [g.rank for g in m.grades]
        assert [(p.code, p.name("zh"), p.name("en"), p.unit, p.position) for p in entry.parameters] == \
            [(p.code, p.name("zh"), p.name("en"), p.unit, p.position) for p in m.parameters]
        assert (entry.name("en"), entry.name("zh"), entry.name(None)) == (m.name("en"), m.name("zh"), m.name(None))


def rename(db, code: str, name_en: str) -> None:
    db.session.scalar(select(Material).where(Material.code == code)).name_en = name_en
    db.session.flush()


def english_name(code: str) -> str:
    return next(m.name_en for m in catalogue.materials() if m.code == code)


def test_a_transaction_that_writes_the_catalogue_reads_it_afresh_and_leaves_no_stale_snapshot(app, db):
    """Migrations are what change the catalogue; a process that changes it itself (a shell, a test) sees its
    own change at once, and nobody sees a change that was rolled back."""
    original = english_name("fly_ash")
    rename(db, "fly_ash", "Pulverised fuel ash")
    assert english_name("fly_ash") == "Pulverised fuel ash"  # the writing transaction sees its own change
    db.session.rollback()
    assert english_name("fly_ash") == original  # nothing of it stays in the snapshot
    try:
        rename(db, "fly_ash", "Pulverised fuel ash")
        db.session.commit()
        assert english_name("fly_ash") == "Pulverised fuel ash"
        assert catalogue.names()["fly_ash"][1] == "Pulverised fuel ash"
    finally:  # the catalogue's rows outlive a test (conftest.CATALOGUE_TABLES): put the name back
        db.session.rollback()
        rename(db, "fly_ash", original)
        db.session.commit()
    assert english_name("fly_ash") == original


def test_the_page_names_materials_from_the_snapshot(app, db, client):
    client.get("/lang/en")
    catalogue.forget()
    assert "Fly ash" in client.get("/materials").get_data(as_text=True)
    assert catalogue_statements(db, client, "/materials") == 0
