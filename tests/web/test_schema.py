"""The schema comes from the Alembic migrations alone, and they agree with the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select

from marketplace.models import Material


def test_models_and_migrations_do_not_drift(app, db):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models differ from the migrated schema; write a migration: {diff}"


def test_migrations_go_down_and_up_again(tmp_path, monkeypatch):
    """Every migration's upgrade and downgrade, in process (no `flask db` subprocess), on a fresh SQLite file."""
    from flask_migrate import downgrade, upgrade

    from marketplace import create_app
    from marketplace.config import TestingConfig
    from marketplace.extensions import db

    monkeypatch.setenv("TEST_DATABASE_URL", f"sqlite:///{tmp_path}/roundtrip.db")
    app = create_app(TestingConfig)
    with app.app_context():
        upgrade()
        assert {"organisation", "user", "ledger_entry", "audit_entry"} <= set(inspect(db.engine).get_table_names())
        downgrade(revision="base")
        assert inspect(db.engine).get_table_names() == ["alembic_version"]
        upgrade()
        with db.engine.connect() as conn:
            head = ScriptDirectory(app.extensions["migrate"].directory).get_current_head()
            assert MigrationContext.configure(conn).get_current_revision() == head
        db.engine.dispose()


def test_migration_seeds_the_materials_catalogue(db):
    materials = {m.code: m for m in db.session.scalars(select(Material))}
    assert set(materials) == {"fly_ash", "fgd_gypsum", "coal_gangue", "furnace_slag", "gbf_slag", "steel_slag",
                              "carbide_slag", "gasification_slag", "ferroalloy_slag"}
    assert materials["fly_ash"].grade_codes == ["I", "II", "III"]
    assert materials["gbf_slag"].grade_codes == ["S105", "S95", "S75"]
    assert materials["steel_slag"].grade_codes == ["I", "II"]
    assert materials["fgd_gypsum"].grade_codes == []
    assert str(materials["coal_gangue"].env_tax_yuan_per_t) == "5.00"
    assert str(materials["fly_ash"].env_tax_yuan_per_t) == "25.00"
    assert {p.code: p.unit for p in materials["gbf_slag"].parameters} == {"specific_surface": "m²/kg", "loi": "%"}
    assert all(m.name_zh and m.name_en for m in materials.values())


def test_database_catalogue_agrees_with_the_optimiser(db):
    """The optimiser keeps its own copy of grades and tax rates (it knows no database): they must agree."""
    from matching.catalogue import ENV_TAX_YUAN_PER_T, MATERIALS

    materials = {m.code: m for m in db.session.scalars(select(Material))}
    assert set(materials) == set(MATERIALS)
    for code, material in materials.items():
        assert tuple(material.grade_codes) == MATERIALS[code], code
        assert material.env_tax_yuan_per_t == ENV_TAX_YUAN_PER_T[code], code


def test_the_scale_migration_goes_down_and_up_with_rounds_and_proposals(tmp_path, monkeypatch):
    """0021 on a market with rounds: down (SQLite copies match_round, which proposals reference) and up again,
    its backfill giving each round the count of the proposals it wrote."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import func

    from marketplace import create_app
    from marketplace.config import TestingConfig
    from marketplace.extensions import db
    from marketplace.models import MatchRound, Proposal
    from marketplace.services.demo import seed_demo

    monkeypatch.setenv("TEST_DATABASE_URL", f"sqlite:///{tmp_path}/market.db")
    app = create_app(TestingConfig)
    with app.app_context():
        upgrade()
        seed_demo()
        db.session.commit()
        counts = dict(db.session.execute(select(Proposal.round_id, func.count()).group_by(Proposal.round_id)).all())
        assert counts and all(n > 0 for n in counts.values())
        assert {r.id: r.proposal_count for r in db.session.scalars(select(MatchRound))
                if r.id in counts} == counts  # written with the proposals
        db.session.remove()
        downgrade(revision="0016_notifications")
        upgrade()
        stored = dict(db.session.execute(select(MatchRound.id, MatchRound.proposal_count)).all())
        assert {k: v for k, v in stored.items() if k in counts} == counts  # the backfill
        assert db.session.scalar(select(func.count()).select_from(Proposal)) == sum(counts.values())
        db.session.remove()
        db.engine.dispose()
