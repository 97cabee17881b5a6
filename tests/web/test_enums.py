"""Every status and kind column is an enum in the code and a CHECK constraint in the database: the database
refuses a value the code does not know, on SQLite and on PostgreSQL, whoever writes the row."""
from __future__ import annotations

import pytest
from sqlalchemy import Enum, inspect, text
from sqlalchemy.exc import IntegrityError

#: (table, column) of every status, kind, scope, decision, mode and use column.
ENUM_COLUMNS = {
    ("organisation", "kind"), ("organisation", "verification"), ("user", "role"),
    ("supply_listing", "status"), ("demand_listing", "status"), ("demand_listing", "use"),
    ("match_round", "scope"), ("match_round", "status"), ("match_round", "objective"), ("proposal", "mode"),
    ("proposal", "status"), ("proposal", "producer_decision"),
    ("proposal", "consumer_decision"), ("agreement", "mode"), ("agreement", "use"), ("production_window", "use"),
    ("shipment", "status"),
    ("ledger_entry", "kind"), ("subsidy_scheme", "mode"), ("baseline", "status"), ("subsidy_claim", "status"),
    ("subsidy_recovery", "status"), ("subsidy_recovery", "settlement"), ("loan_project", "status"),
    ("notification", "kind"),
}


def _enum_columns(db):
    return {(table.name, column.name): column for table in db.metadata.sorted_tables for column in table.columns
            if isinstance(column.type, Enum)}


def test_every_status_and_kind_column_is_an_enum_in_the_models(db):
    assert set(_enum_columns(db)) == ENUM_COLUMNS


def test_every_enum_column_has_its_check_constraint_in_the_migrated_schema(db):
    """The schema comes from the migrations: each enum's CHECK is there, named, listing exactly its values."""
    inspector = inspect(db.engine)
    for (table, name), column in _enum_columns(db).items():
        checks = {c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table)}
        expected = f"ck_{table}_{column.type.name}"
        assert expected in checks, f"{table}.{name}: no {expected} in {sorted(checks)}"
        for value in column.type.enums:
            assert f"'{value}'" in checks[expected], f"{expected} does not allow {value!r}"


def _refuses(db, sql: str, **params) -> bool:
    """Whether the database refuses the statement (a CHECK violation); the test's data stays as it was."""
    connection = db.session.connection()
    savepoint = connection.begin_nested()
    try:
        connection.execute(text(sql), params)
    except IntegrityError as error:
        savepoint.rollback()
        return "check" in str(error.orig).lower()
    savepoint.rollback()
    return False


@pytest.fixture
def demo(app, db):
    from marketplace.services.demo import seed_demo

    seed_demo()
    db.session.commit()


def test_the_database_refuses_an_unknown_value_in_every_enum_column(db, demo):
    """Raw SQL, as a script or another program would write it: the ORM's own check is not what refuses it.
    Columns of tables the demo leaves empty are covered by the schema test above."""
    tried = set()
    for table, column in sorted(ENUM_COLUMNS):
        quoted = f'"{table}"'
        row = db.session.execute(text(f"SELECT min(id) FROM {quoted}")).scalar()
        if row is None:
            continue
        if table == "ledger_entry":  # append-only (a trigger refuses UPDATE on PostgreSQL): try a new entry
            sql = ("INSERT INTO ledger_entry (seq, kind, shipment_id, agreement_id, producer_org_id, consumer_org_id,"
                   " material, net_kg, ticket_no, dispatched_at, confirmed_at, reason, prev_hash, hash,"
                   " format_version) SELECT seq + 1000000, :bad, shipment_id, agreement_id, producer_org_id,"
                   " consumer_org_id, material, net_kg, ticket_no, dispatched_at, confirmed_at, reason, prev_hash,"
                   " :hash, format_version FROM ledger_entry WHERE id = :id")
            assert _refuses(db, sql, bad="bogus", hash="f" * 64, id=row), f"{table}.{column} took 'bogus'"
        else:
            sql = f'UPDATE {quoted} SET "{column}" = :bad WHERE id = :id'
            assert _refuses(db, sql, bad="bogus", id=row), f"{table}.{column} took 'bogus'"
        tried.add((table, column))
    # the demo market has shipments, ledger entries, proposals, agreements, baselines and claims
    assert {("shipment", "status"), ("ledger_entry", "kind"), ("proposal", "producer_decision"),
            ("match_round", "scope"), ("agreement", "use"), ("subsidy_claim", "status"),
            ("baseline", "status"), ("subsidy_scheme", "mode")} <= tried


def test_a_known_value_is_still_accepted_and_stored_as_before(db, demo):
    """The CHECKs list the values the code writes: stored values do not change (API JSON neither)."""
    from marketplace.models import Proposal
    from marketplace.models.matching import Decision

    proposal_id = db.session.execute(text("SELECT min(id) FROM proposal")).scalar()
    assert not _refuses(db, "UPDATE proposal SET producer_decision = 'accepted' WHERE id = :id", id=proposal_id)
    db.session.execute(text("UPDATE proposal SET producer_decision = 'declined' WHERE id = :id"),
                       {"id": proposal_id})
    proposal = db.session.get(Proposal, proposal_id)
    db.session.refresh(proposal)
    assert proposal.producer_decision is Decision.DECLINED
    assert proposal.producer_decision == "declined" and f"{proposal.producer_decision}" == "declined"


def test_the_migration_stops_on_rows_the_enums_do_not_know(tmp_path):
    """An existing database with a value no enum knows: the upgrade names the table, column and value, and
    changes nothing (the rows are corrected first, then the upgrade runs)."""
    import os
    import sqlite3
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    path = tmp_path / "old.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "FLASK_DEBUG": "1"}
    env.pop("TEST_DATABASE_URL", None)
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "db"]
    assert subprocess.run([*flask, "upgrade", "0013_papers"], cwd=root, env=env, capture_output=True).returncode == 0
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO organisation (name, credit_code, kind, verification, created_at) "
                     "VALUES ('旧企业', '91640100MA0000001X', 'recycler', 'pending', '2026-01-01 00:00:00')")
    result = subprocess.run([*flask, "upgrade"], cwd=root, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "organisation.kind holds ['recycler']" in result.stderr
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0013_papers",)
        conn.execute("UPDATE organisation SET kind = 'consumer' WHERE kind = 'recycler'")
    assert subprocess.run([*flask, "upgrade"], cwd=root, env=env, capture_output=True).returncode == 0
