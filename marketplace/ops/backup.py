"""Backups of the database and the uploaded evidence files together, in one tar.gz, and their restore.

The archive holds `manifest.json` (format version, UTC creation time, database dialect and server version,
Alembic revision, the ledger head's seq and hash, the SHA-256 and size of every other member), the database
(`database.pgdump`: `pg_dump -Fc` of the server's own major version; or `database.sqlite3`: a copy made by
SQLite's online backup API, consistent while the app runs) and `uploads/...` (instance/uploads/). The
manifest is signed with the platform's Ed25519 ledger key (`manifest.sig`, the second member), so its hashes
vouch for every other member.

Restore treats the archive as untrusted: only regular files and folders with relative names under the
expected prefixes (no absolute paths, no `..`, no links or devices), every file listed in the manifest with
the hash it has, the manifest signed by this platform's key; then it refuses a database or uploads folder
that already holds data unless forced. Before the live database is touched, the archived one is restored
into a scratch database (a copy of the file on SQLite) and its ledger verified there: an archive whose ledger
does not verify never replaces a working database. Then it restores both and verifies the ledger again
(services/ledger.verify_ledger) and its head against the manifest."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

import click
from cryptography.exceptions import InvalidSignature
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import Engine, create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..extensions import db
from ..services.ledger import ChainCheck, public_key, signing_key

FORMAT_VERSION = 2  # 2: the manifest is signed
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
DUMP_NAMES = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}
UPLOADS_PREFIX = "uploads"
#: Tables whose rows mean the database is in use (a freshly migrated one holds only reference data).
DATA_TABLES = ("organisation", "user", "ledger_entry")
_CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why."""


@dataclass
class RestoreResult:
    ledger_ok: bool
    ledger_entries: int
    problem: str = ""
    alembic_revision: str | None = None
    files: int = 0
    notes: list[str] = field(default_factory=list)


def default_uploads() -> Path:
    return Path(current_app.instance_path) / "uploads"


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- PostgreSQL tools ------------------------------------------------------------------------------------

def _pg_env() -> dict[str, str]:
    """libpq's environment for the app's database (the password never appears on a command line)."""
    url = make_url(db.engine.url)
    env = dict(os.environ)
    for var, value in (("PGHOST", url.query.get("host") or url.host), ("PGPORT", url.port),
                       ("PGUSER", url.username), ("PGPASSWORD", url.password), ("PGDATABASE", url.database),
                       ("PGSSLMODE", url.query.get("sslmode")),
                       ("PGCONNECT_TIMEOUT", url.query.get("connect_timeout"))):
        if value:
            env[var] = str(value)
    return env


def _server_major() -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000


def pg_tool(name: str, major: int) -> str:
    """pg_dump or pg_restore of the server's major version (PG_BIN_DIR, Debian's /usr/lib/postgresql/N/bin, or
    PATH); refused when only another version is installed: a dump must be read by the same major version."""
    candidates = [Path(os.environ["PG_BIN_DIR"]) / name] if os.environ.get("PG_BIN_DIR") else []
    candidates.append(Path(f"/usr/lib/postgresql/{major}/bin/{name}"))
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            out = subprocess.run([str(candidate), "--version"], capture_output=True, text=True, check=False).stdout
            version = re.search(r"(\d+)(?:\.\d+)?", out)
            if version and int(version.group(1)) == major:
                return str(candidate)
    raise BackupError(f"{name} of PostgreSQL {major} not found: install postgresql-client-{major} or set PG_BIN_DIR")


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {done.stderr.strip()[-2000:]}")


# --- create --------------------------------------------------------------------------------------------

def _dump_database(folder: Path) -> tuple[str, dict[str, Any]]:
    """The database into `folder`; returns the member name and facts for the manifest."""
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        major = _server_major()
        target = folder / DUMP_NAMES["postgresql"]
        _run([pg_tool("pg_dump", major), "-Fc", "--no-owner", "--no-acl", "-f", str(target)], _pg_env())
        return target.name, {"dialect": dialect, "server_major": major}
    if dialect == "sqlite":
        target = folder / DUMP_NAMES["sqlite"]
        raw = db.engine.raw_connection()
        try:
            copy = sqlite3.connect(target)
            with copy:
                raw.driver_connection.backup(copy)  # type: ignore[union-attr]  # online, consistent
            copy.close()
        finally:
            raw.close()
        return target.name, {"dialect": dialect, "sqlite_version": sqlite3.sqlite_version}
    raise BackupError(f"backups support PostgreSQL and SQLite, not {dialect}")


def _database_facts() -> dict[str, Any]:
    """Alembic revision and ledger head, read from the database being backed up."""
    from ..models import LedgerHead

    revision = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    head = db.session.execute(select(LedgerHead.seq, LedgerHead.hash).where(LedgerHead.id == 1)).one_or_none()
    db.session.rollback()
    return {"alembic_revision": revision,
            "ledger_head": {"seq": head.seq, "hash": head.hash} if head else None}


def create_backup(target: Path | None = None, uploads: Path | None = None) -> tuple[Path, dict[str, Any]]:
    """Write one archive of the database and the uploads; returns its path and manifest. The database is
    dumped first, so every file it names was written before (uploads are stored before their commit)."""
    uploads = uploads or default_uploads()
    if target is None:
        target = Path(current_app.instance_path) / "backups" / f"backup-{utcnow():%Y%m%dT%H%M%SZ}.tar.gz"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="backup-", dir=target.parent) as tmp:
        work = Path(tmp)
        facts = _database_facts()
        dump_name, db_facts = _dump_database(work)
        members = {dump_name: {"sha256": _sha256_file(work / dump_name), "size": (work / dump_name).stat().st_size}}
        files: list[tuple[Path, str]] = []
        if uploads.is_dir():
            for path in sorted(uploads.rglob("*")):
                if path.is_symlink() or not path.is_file():
                    continue  # only regular files: a link could point anywhere on the machine
                name = str(PurePosixPath(UPLOADS_PREFIX, *path.relative_to(uploads).parts))
                members[name] = {"sha256": _sha256_file(path), "size": path.stat().st_size}
                files.append((path, name))
        manifest = {"format": FORMAT_VERSION, "created_utc": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
                    **db_facts, **facts, "members": members}
        manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode()
        (work / MANIFEST).write_bytes(manifest_bytes)
        (work / SIGNATURE).write_bytes(base64.b64encode(signing_key().sign(manifest_bytes)))
        partial = work / "archive.tar.gz"
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(work / MANIFEST, arcname=MANIFEST, recursive=False)
            archive.add(work / SIGNATURE, arcname=SIGNATURE, recursive=False)
            archive.add(work / dump_name, arcname=dump_name, recursive=False)
            for path, name in files:
                archive.add(path, arcname=name, recursive=False)
        partial.chmod(0o600)  # the archive holds password hashes and every firm's data
        os.replace(partial, target)
    return target, manifest


# --- restore -------------------------------------------------------------------------------------------

def _member_name(member: tarfile.TarInfo) -> str:
    """The member's name if it is a plain relative path to a regular file or folder; refused otherwise."""
    name = member.name
    path = PurePosixPath(name)
    if not name or "\\" in name or "\x00" in name or path.is_absolute() or name.startswith("/"):
        raise BackupError(f"archive refused: member {name!r} has an absolute or odd path")
    if any(part == ".." for part in path.parts):
        raise BackupError(f"archive refused: member {name!r} leaves the archive's folder (..)")
    if not (member.isreg() or member.isdir()):
        raise BackupError(f"archive refused: member {name!r} is a link or special file")
    normal = str(path)
    if not (normal in (MANIFEST, SIGNATURE, UPLOADS_PREFIX) or normal in DUMP_NAMES.values()
            or normal.startswith(UPLOADS_PREFIX + "/")):
        raise BackupError(f"archive refused: unexpected member {name!r}")
    return normal


MAX_MANIFEST_BYTES = 16 * 1024 * 1024


def _member_file(archive: tarfile.TarFile, member: tarfile.TarInfo) -> IO[bytes]:
    stream = archive.extractfile(member)
    if stream is None:  # not a regular file: _member_name let only folders through, which are skipped
        raise BackupError(f"archive refused: member {member.name!r} is not a file")
    return stream


def _read_manifest(archive: tarfile.TarFile, member: tarfile.TarInfo | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first member must be the manifest and the second its signature by this platform's key: both read
    (bounded) and checked before anything else is unpacked."""
    if member is None or _member_name(member) != MANIFEST or not member.isreg():
        raise BackupError("archive refused: it does not start with manifest.json")
    if member.size > MAX_MANIFEST_BYTES:
        raise BackupError("archive refused: the manifest is too large")
    raw = _member_file(archive, member).read()
    signed = archive.next()
    if signed is None or _member_name(signed) != SIGNATURE or not signed.isreg() or signed.size > 1024:
        raise BackupError("archive refused: the manifest is not signed (manifest.sig must follow it)")
    key = public_key()
    if key is None:
        raise BackupError("archive refused: this platform has no ledger key to check the manifest's signature "
                          "(set LEDGER_SIGNING_KEY to the key of the platform that made the backup)")
    try:
        key.verify(base64.b64decode(_member_file(archive, signed).read(), validate=True), raw)
    except (InvalidSignature, ValueError) as e:
        raise BackupError("archive refused: the manifest's signature is not this platform's (the archive was "
                          "altered, or made by a platform with another ledger key)") from e
    try:
        manifest = json.loads(raw)
        listed = {str(name): {"sha256": str(entry["sha256"]), "size": int(entry["size"])}
                  for name, entry in manifest["members"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise BackupError(f"archive refused: the manifest cannot be read ({e})") from e
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(f"archive refused: manifest format {manifest.get('format')!r}, expected {FORMAT_VERSION}")
    return manifest, listed


def _unpack(archive_path: Path, work: Path) -> dict[str, Any]:
    """The manifest first; then each member checked before it is unpacked (a plain relative name, listed, of
    the listed size, so an archive cannot fill the disk) and hashed as it is copied into `work`. Returns
    the manifest once every listed member has arrived with its hash."""
    try:
        archive = tarfile.open(archive_path, "r:gz")  # noqa: SIM115 (closed by the `with` below)
    except (OSError, tarfile.TarError) as e:
        raise BackupError(f"not a backup archive: {e}") from e
    seen: set[str] = set()
    with archive:
        try:
            manifest, listed = _read_manifest(archive, archive.next())
            while (member := archive.next()) is not None:
                name = _member_name(member)
                if member.isdir():
                    continue
                if name not in listed:
                    raise BackupError(f"archive refused: member {name!r} is not in the manifest")
                if name in seen:
                    raise BackupError(f"archive refused: member {name!r} appears twice")
                if member.size != listed[name]["size"]:
                    raise BackupError(f"archive refused: {name} is not of the size the manifest records")
                seen.add(name)
                dest = work.joinpath(*PurePosixPath(name).parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                source = _member_file(archive, member)
                digest = hashlib.sha256()
                with source, open(dest, "wb") as out:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                if digest.hexdigest() != listed[name]["sha256"]:
                    raise BackupError(f"archive refused: {name} does not have the SHA-256 the manifest records")
        except (OSError, tarfile.TarError, EOFError) as e:
            raise BackupError(f"the archive is damaged: {e}") from e
    missing = sorted(set(listed) - seen)
    if missing:
        raise BackupError(f"archive refused: members listed in the manifest are missing: {missing}")
    return manifest


def database_holds_data() -> bool:
    """True when the database has an organisation, a user or a ledger entry (a migrated, unused database
    holds only its reference data)."""
    with db.engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        for table in DATA_TABLES:
            if table in tables and conn.execute(text(f'SELECT 1 FROM "{table}" LIMIT 1')).first():
                return True
    return False


def _check_compatible(manifest: dict[str, Any]) -> None:
    dialect = db.engine.dialect.name
    if manifest.get("dialect") != dialect:
        raise BackupError(f"the archive holds a {manifest.get('dialect')} database; this app uses {dialect}")
    if dialect == "postgresql" and manifest.get("server_major") != (major := _server_major()):
        raise BackupError(f"the archive was dumped from PostgreSQL {manifest.get('server_major')}; "
                          f"restore it into PostgreSQL {manifest.get('server_major')}, not {major}")


def _pg_restore(work: Path, database: str) -> None:
    _run([pg_tool("pg_restore", _server_major()), "--clean", "--if-exists", "--no-owner", "--no-acl",
          "--single-transaction", "--exit-on-error", "-d", database, str(work / DUMP_NAMES["postgresql"])],
         _pg_env())


def _ledger_check(session: Session, manifest: dict[str, Any]) -> ChainCheck:
    """The ledger of the database behind `session` verified, and its head compared with the manifest's."""
    from ..models import LedgerHead
    from ..services.ledger import verify_ledger

    check = verify_ledger(session=session)
    recorded = manifest.get("ledger_head")
    head = session.execute(select(LedgerHead.seq, LedgerHead.hash).where(LedgerHead.id == 1)).one_or_none()
    if check.ok and recorded and (head is None or (head.seq, head.hash) != (recorded["seq"], recorded["hash"])):
        return ChainCheck(False, check.entries, None, f"the ledger head is {head and head.seq}, the archive "
                                                      f"recorded {recorded['seq']} ({recorded['hash'][:12]}...)")
    return check


def _scratch_problem(engine: Engine, manifest: dict[str, Any]) -> str:
    try:
        with Session(engine) as session:
            return _ledger_check(session, manifest).problem
    except SQLAlchemyError as e:
        raise BackupError(f"the archived database cannot be read: {e.__class__.__name__}") from e


def _check_archived_ledger(work: Path, manifest: dict[str, Any]) -> None:
    """Verify the archive's ledger in a scratch database before the live one is touched: a copy of the
    SQLite file, or a temporary PostgreSQL database (the app's role needs CREATEDB) dropped afterwards."""
    if db.engine.dialect.name == "sqlite":
        scratch = work / "check.sqlite3"
        shutil.copyfile(work / DUMP_NAMES["sqlite"], scratch)
        engine = create_engine(f"sqlite:///{scratch}")
        try:
            problem = _scratch_problem(engine, manifest)
        finally:
            engine.dispose()
            scratch.unlink(missing_ok=True)
    else:
        name = f"restore_check_{secrets.token_hex(6)}"
        admin = db.engine.execution_options(isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except SQLAlchemyError as e:
            raise BackupError("could not create a scratch database to check the archive before restoring "
                              f"(the database role needs CREATEDB): {e.__class__.__name__}") from e
        engine = create_engine(make_url(db.engine.url).set(database=name))
        try:
            _pg_restore(work, name)
            problem = _scratch_problem(engine, manifest)
        finally:
            engine.dispose()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    if problem:
        raise BackupError(f"the archive's ledger does not verify ({problem}); nothing was restored")


def _restore_database(work: Path) -> None:
    db.session.remove()
    if db.engine.dialect.name == "postgresql":
        db.engine.dispose()
        _pg_restore(work, _pg_env()["PGDATABASE"])
    else:
        source = sqlite3.connect(work / DUMP_NAMES["sqlite"])
        raw = db.engine.raw_connection()
        try:
            source.backup(raw.driver_connection)  # type: ignore[arg-type]  # page by page, whole database
        finally:
            raw.close()
            source.close()
    db.engine.dispose()  # pooled connections saw the old database


def _restore_uploads(work: Path, uploads: Path) -> int:
    source = work / UPLOADS_PREFIX
    count = 0
    if not source.is_dir():
        return 0
    uploads.mkdir(parents=True, exist_ok=True)
    root = uploads.resolve()
    for path in sorted(source.rglob("*")):
        if not path.is_file():
            continue
        dest = uploads.joinpath(*path.relative_to(source).parts)
        if root not in dest.resolve().parents:  # a link already in the folder must not lead outside it
            raise BackupError(f"refused: {dest} is outside {uploads}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
        count += 1
    return count


def restore_backup(archive_path: Path, uploads: Path | None = None, force: bool = False) -> RestoreResult:
    """Check the archive, restore the database and the uploads, verify the ledger. Refuses a database or an
    uploads folder that already holds data unless `force`."""
    uploads = uploads or default_uploads()
    if not force and database_holds_data():
        raise BackupError("the database already holds data; restore into an empty one, or pass --force to "
                          "replace it")
    if not force and uploads.is_dir() and any(p.is_file() for p in uploads.rglob("*")):
        raise BackupError(f"{uploads} already holds files; restore into an empty folder, or pass --force")
    tmp_parent = archive_path.resolve().parent if os.access(archive_path.resolve().parent, os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="restore-", dir=tmp_parent) as tmp:
        work = Path(tmp)
        manifest = _unpack(archive_path, work)
        _check_compatible(manifest)
        _check_archived_ledger(work, manifest)
        _restore_database(work)
        files = _restore_uploads(work, uploads)
    check = _ledger_check(db.session(), manifest)  # again, in the restored database itself
    result = RestoreResult(check.ok, check.entries, check.problem, files=files,
                           alembic_revision=db.session.scalar(text("SELECT version_num FROM alembic_version")))
    if result.alembic_revision != manifest.get("alembic_revision"):
        result.notes.append(f"Alembic revision {result.alembic_revision}, "
                            f"the manifest says {manifest.get('alembic_revision')}")
    db.session.rollback()
    return result


# --- CLI -----------------------------------------------------------------------------------------------

backup_cli = AppGroup("backup", help="Back up and restore the database with the uploaded files (README, Production).")


@backup_cli.command("create")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--uploads", type=click.Path(file_okay=False, path_type=Path),
              help="The uploads folder (default: instance/uploads).")
def create_command(path: Path | None, uploads: Path | None) -> None:
    """Write a tar.gz of the database (pg_dump -Fc or SQLite's online backup) and instance/uploads/ with a
    manifest of SHA-256 hashes; PATH defaults to instance/backups/backup-<UTC time>.tar.gz."""
    try:
        target, manifest = create_backup(path, uploads)
    except BackupError as e:
        raise click.ClickException(str(e)) from e
    head = manifest.get("ledger_head") or {}
    click.echo(f"backup written: {target} ({len(manifest['members'])} members, revision "
               f"{manifest['alembic_revision']}, ledger head {head.get('seq')})")


@backup_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--uploads", type=click.Path(file_okay=False, path_type=Path),
              help="The uploads folder (default: instance/uploads).")
@click.option("--force", is_flag=True, help="Replace a database or uploads folder that already holds data.")
def restore_command(path: Path, uploads: Path | None, force: bool) -> None:
    """Check the archive (manifest hashes, no absolute paths, '..' or links), restore the database and the
    uploads, then verify the ledger; exit 1 when anything fails."""
    try:
        result = restore_backup(path, uploads, force)
    except BackupError as e:
        raise click.ClickException(str(e)) from e
    for note in result.notes:
        click.echo(f"note: {note}")
    click.echo(f"restored: database at revision {result.alembic_revision}, {result.files} uploaded files")
    if result.ledger_ok:
        click.echo(f"ledger OK: {result.ledger_entries} entries")
        return
    click.echo(f"ledger BROKEN: {result.problem}", err=True)
    raise SystemExit(1)
