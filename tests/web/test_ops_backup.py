"""Backups that are drilled: the database and the uploaded evidence in one archive, restored into an empty
database and uploads folder, the ledger verified; archives that were tampered with or carry links, absolute
paths or '..' are refused (on SQLite and, with TEST_DATABASE_URL, on PostgreSQL)."""
import base64
import hashlib
import io
import json
import tarfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from marketplace.models import LedgerEntry, Organisation, SupplyListing, User
from marketplace.services import deliveries, ledger, listing_files
from marketplace.services.generation import CST
from tests.web.conftest import login
from tests.web.deals import make_agreement
from tests.web.insider import insider

PDF = b"%PDF-1.4\n% lab report of the fly ash\n" + bytes(range(256))


def deliver(db, deal, count):
    agreement, producer, consumer = deal
    for i in range(1, count + 1):
        when = (datetime.now(CST) - timedelta(minutes=5 * i)).isoformat()
        s = deliveries.record_shipment(producer, agreement.id, {
            "ticket_no": f"B{agreement.id}-{i}", "truck_plate": "宁A12345", "dispatched_at": when,
            "gross_kg": 16_000 + i, "tare_kg": 15_000})
        deliveries.confirm_shipment(consumer, s.id, 1_000 + i)
    db.session.commit()


def rebuild_schema_if_wiped(db) -> None:
    """A test that failed between wiping and restoring leaves no tables: migrate again for the next tests."""
    from flask_migrate import upgrade

    db.session.remove()
    with db.engine.connect() as conn:
        if "organisation" in set(conn.dialect.get_table_names(conn)):
            return
    db.drop_all()
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade()


@pytest.fixture
def market(app, db, make_user, make_site, tmp_path, monkeypatch):
    """A market with ledger entries, a signed checkpoint and a lab certificate under tmp_path/instance/uploads."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    deal = make_agreement(make_user, make_site, tonnes=500)
    deliver(db, deal, 4)
    ledger.create_checkpoint(None)
    db.session.commit()
    agreement, producer, _ = deal
    supply = db.session.get(SupplyListing, agreement.supply_listing_id)
    listing_files.attach_certificate(producer, supply.id, "report.pdf", PDF,
                                     Path(app.instance_path) / "uploads" / "certificates")
    db.session.commit()
    yield producer.id, supply.id
    rebuild_schema_if_wiped(db)


def wipe_database(db) -> None:
    """Make the database empty, as a new server's is: no tables at all."""
    db.session.remove()
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            conn.execute(text("PRAGMA foreign_keys=OFF"))
            names = conn.execute(text("SELECT name FROM sqlite_master WHERE type='table' "
                                      "AND name NOT LIKE 'sqlite_%'")).scalars().all()
            for name in names:
                conn.execute(text(f'DROP TABLE "{name}"'))
    db.engine.dispose()


def wipe_uploads(app) -> None:
    for f in (Path(app.instance_path) / "uploads").rglob("*"):
        if f.is_file():
            f.unlink()


def test_backup_restores_into_an_empty_database_and_the_ledger_verifies(app, db, runner, market, tmp_path):
    producer, supply_id = market
    entries = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    orgs = db.session.scalar(select(func.count()).select_from(Organisation))
    archive = tmp_path / "nightly.tar.gz"
    result = runner.invoke(args=["backup", "create", str(archive)])
    assert result.exit_code == 0, result.output
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert names[:2] == ["manifest.json", "manifest.sig"]
    assert any(n.startswith("uploads/certificates/") for n in names)
    assert manifest["format"] == 2 and manifest["ledger_head"]["seq"] == entries == 4
    assert manifest["alembic_revision"] and manifest["created_utc"].endswith("Z")
    assert archive.stat().st_mode & 0o077 == 0  # password hashes inside: the owner's only

    wipe_database(db)
    wipe_uploads(app)
    result = runner.invoke(args=["backup", "restore", str(archive)])
    assert result.exit_code == 0, result.output
    assert "ledger OK: 4 entries" in result.output
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == orgs
    assert ledger.verify_ledger().ok
    # the evidence is back, byte for byte, and served again to its owner
    client = app.test_client()
    login(client, db.session.get(User, producer))
    r = client.get(f"/listings/supply/{supply_id}/certificate")
    assert r.status_code == 200 and r.data == PDF


def test_restore_refuses_a_database_that_holds_data_unless_forced(app, db, runner, market, tmp_path):
    archive = tmp_path / "b.tar.gz"
    assert runner.invoke(args=["backup", "create", str(archive)]).exit_code == 0
    result = runner.invoke(args=["backup", "restore", str(archive)])
    assert result.exit_code != 0 and "already holds data" in result.output
    result = runner.invoke(args=["backup", "restore", "--force", str(archive)])
    assert result.exit_code == 0, result.output
    assert "ledger OK: 4 entries" in result.output


def test_an_archive_whose_ledger_does_not_verify_never_replaces_the_database(app, db, runner, market, tmp_path):
    """The archived ledger is verified in a scratch database first: a broken one leaves the live one as it was."""
    archive = tmp_path / "b.tar.gz"
    net_kg = db.session.scalar(select(LedgerEntry.net_kg).where(LedgerEntry.seq == 3))
    with insider(db):
        db.session.execute(text("UPDATE ledger_entry SET net_kg = net_kg + 1000 WHERE seq = 3"))
    assert runner.invoke(args=["backup", "create", str(archive)]).exit_code == 0  # an insider's altered copy
    with insider(db):
        db.session.execute(text("UPDATE ledger_entry SET net_kg = :kg WHERE seq = 3"), {"kg": net_kg})
    assert ledger.verify_ledger().ok
    result = runner.invoke(args=["backup", "restore", "--force", str(archive)])
    assert result.exit_code == 1 and "entry 3 was altered" in result.output and "nothing was restored" in result.output
    db.session.remove()
    assert ledger.verify_ledger().ok  # the live database is the one it was
    assert db.session.scalar(select(LedgerEntry.net_kg).where(LedgerEntry.seq == 3)) == net_kg


def test_restore_reports_a_ledger_that_breaks_in_the_restored_database(app, db, runner, market, tmp_path,
                                                                       monkeypatch):
    """Should the restored copy differ from the checked one, the second verification says so (exit 1)."""
    archive = tmp_path / "b.tar.gz"
    assert runner.invoke(args=["backup", "create", str(archive)]).exit_code == 0
    real = ledger.verify_ledger
    calls = []

    def second_fails(*a, **k):
        calls.append(1)
        return real(*a, **k) if len(calls) == 1 else ledger.ChainCheck(False, 2, 3, "entry 3 was altered")

    monkeypatch.setattr(ledger, "verify_ledger", second_fails)
    result = runner.invoke(args=["backup", "restore", "--force", str(archive)])
    assert result.exit_code == 1 and "ledger BROKEN: entry 3 was altered" in result.output and len(calls) == 2


def _rewrite(archive: Path, out: Path, change) -> None:
    """Copy an archive member by member, letting `change(info, data)` alter or add members."""
    with tarfile.open(archive) as src, tarfile.open(out, "w:gz") as dst:
        for info in src.getmembers():
            data = src.extractfile(info).read() if info.isreg() else b""
            for new_info, new_data in change(info, data):
                dst.addfile(new_info, io.BytesIO(new_data) if new_info.isreg() else None)


def _member(name: str, data: bytes = b"", kind=tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, len(data) if kind == tarfile.REGTYPE else 0, link
    return info


def _tamper_upload(info, data):
    if info.name.startswith("uploads/"):
        data = data.replace(b"fly ash", b"fly asH")
    info.size = len(data)
    yield info, data


def _tamper_manifest_and_file(info, data):
    """A careless forger who changes a file and the manifest's hash of another one."""
    if info.name == "manifest.json":
        manifest = json.loads(data)
        name = next(n for n in manifest["members"] if n.startswith("uploads/"))
        manifest["members"][name]["sha256"] = hashlib.sha256(b"other").hexdigest()
        data = json.dumps(manifest).encode()
    info.size = len(data)
    yield info, data


def _extra(member: tarfile.TarInfo, data: bytes = b""):
    def change(info, original):
        yield info, original
        if info.name == "manifest.sig":
            yield member, data
    return change


def _unsigned(info, data):
    if info.name != "manifest.sig":
        yield info, data


def _signed_by_another_key(info, data):
    """A forger who rebuilds the manifest to match altered files and signs it with a key of their own."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if info.name == "manifest.json":
        _signed_by_another_key.manifest = data
    if info.name == "manifest.sig":
        data = base64.b64encode(Ed25519PrivateKey.generate().sign(_signed_by_another_key.manifest))
        info.size = len(data)
    yield info, data


def _drop_uploads(info, data):
    if not info.name.startswith("uploads/"):
        yield info, data


def _manifest_last(info, data):
    """Every member as it is, the manifest moved to the end (a real archive starts with it)."""
    if info.name == "manifest.json":
        _manifest_last.held = (info, data)
        return
    yield info, data
    if info.name.startswith("uploads/"):  # the last member
        yield _manifest_last.held


def _grow_upload(info, data):
    """A member larger than the manifest says (a decompression bomb would be): refused before it is copied."""
    if info.name.startswith("uploads/"):
        data = data + b"\0" * 4096
        info.size = len(data)
    yield info, data


@pytest.mark.parametrize("change,message", [
    (_tamper_upload, "does not have the SHA-256"),
    (_tamper_manifest_and_file, "signature is not this platform's"),
    (_unsigned, "the manifest is not signed"),
    (_signed_by_another_key, "signature is not this platform's"),
    (_extra(_member("uploads/evil.txt", b"x"), b"x"), "not in the manifest"),
    (_extra(_member("/etc/cron.d/evil", b"x"), b"x"), "absolute"),
    (_extra(_member("uploads/../../evil", b"x"), b"x"), "(..)"),
    (_extra(_member("uploads/link", kind=tarfile.SYMTYPE, link="/etc/passwd")), "link or special file"),
    (_extra(_member("uploads/hard", kind=tarfile.LNKTYPE, link="manifest.json")), "link or special file"),
    (_extra(_member("database.sqlite3x", b"x"), b"x"), "unexpected member"),
    (_drop_uploads, "are missing"),
    (_manifest_last, "does not start with manifest.json"),
    (_grow_upload, "not of the size"),
], ids=["file", "manifest", "unsigned", "other-key", "unlisted", "absolute", "dotdot", "symlink", "hardlink",
        "unexpected", "missing", "manifest-last", "size"])
def test_a_tampered_or_hostile_archive_is_refused_and_nothing_is_restored(app, db, runner, market, tmp_path,
                                                                         change, message):
    archive, bad = tmp_path / "b.tar.gz", tmp_path / "bad.tar.gz"
    assert runner.invoke(args=["backup", "create", str(archive)]).exit_code == 0
    _rewrite(archive, bad, change)
    wipe_database(db)
    wipe_uploads(app)
    result = runner.invoke(args=["backup", "restore", str(bad)])
    assert result.exit_code == 1 and message in result.output, result.output
    with db.engine.connect() as conn:  # still the empty database: nothing was restored
        assert "organisation" not in set(conn.dialect.get_table_names(conn))
    assert not (tmp_path / "evil").exists()
    assert not [f for f in (Path(app.instance_path) / "uploads").rglob("*") if f.is_file()]
    # the good archive still restores (and leaves the schema for the next tests)
    result = runner.invoke(args=["backup", "restore", "--force", str(archive)])
    assert result.exit_code == 0, result.output


def test_not_an_archive_is_refused(runner, tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not gzip at all")
    result = runner.invoke(args=["backup", "restore", "--force", str(junk)])
    assert result.exit_code == 1 and "not a backup archive" in result.output
