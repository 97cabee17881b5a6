"""Command-line commands (`flask --app wsgi ...`). Thin: they call services and commit."""
import click
from flask import Flask

from .extensions import db


def register_cli(app: Flask) -> None:
    from .ops.backup import backup_cli

    app.cli.add_command(backup_cli)  # flask backup create|restore (marketplace/ops/backup.py)

    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Create the demo market (fictitious enterprises at real Ningxia places). Safe to run twice."""
        from .services.demo import DEMO_LOGINS, DEMO_PASSWORD, seed_demo

        try:
            created = seed_demo()
            db.session.commit()
        except Exception as e:
            db.session.rollback()
            raise click.ClickException(str(e)) from e
        click.echo(f"Demo data: {len(created)} objects created" + ("" if created else " (already complete)"))
        click.echo(f"Demo logins (DEMO ONLY, password {DEMO_PASSWORD}):")
        for email, role in DEMO_LOGINS.items():
            click.echo(f"  {email:<24} {role}")

    @app.cli.command("create-staff")
    @click.option("--kind", type=click.Choice(["operator", "regulator"]), required=True)
    @click.option("--org-name", required=True, help="The authority's or operator's name.")
    @click.option("--credit-code", required=True, help="Its unified social credit code.")
    @click.option("--email", required=True)
    @click.password_option()
    def create_staff_command(kind, org_name, credit_code, email, password):
        """Create a regulator or operator organisation with its first administrator (they cannot register
        themselves through the web)."""
        from .errors import MarketplaceError
        from .models import UserRole, VerificationStatus
        from .services import accounts

        try:
            org = accounts.create_organisation(org_name, credit_code, kind, VerificationStatus.VERIFIED)
            accounts.create_user(org, email, password, role=UserRole.ADMIN)
            db.session.commit()
        except MarketplaceError as e:
            db.session.rollback()
            raise click.ClickException(str(e.message)) from e
        click.echo(f"Created {kind} {org_name} with administrator {email}.")

    @app.cli.group("ledger")
    def ledger_group():
        """The utilisation ledger."""

    @ledger_group.command("verify")
    @click.option("--checkpoint", "checkpoint_files", type=click.File("r"), multiple=True,
                  help="A checkpoint kept outside the platform (JSON, one item of GET /api/v1/ledger/checkpoints "
                       "as it is); repeat for several.")
    @click.option("--public-key", "public_key_file", type=click.File("r"),
                  help="The platform's public key kept outside it (PEM), instead of the key the platform holds.")
    def ledger_verify_command(checkpoint_files, public_key_file):
        """Stream the ledger, check the chain, the head and every signed checkpoint (stored and given);
        exit 1 naming the first entry that no longer matches."""
        import json

        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        from .errors import MarketplaceError
        from .services import ledger

        try:
            given = [ledger.parse_checkpoint(json.load(f)) for f in checkpoint_files]
            key = load_pem_public_key(public_key_file.read().encode()) if public_key_file else None
            if key is not None and not isinstance(key, Ed25519PublicKey):
                raise ValueError("the public key is not an Ed25519 key (the checkpoints' signatures are Ed25519)")
        except (ValueError, TypeError, MarketplaceError) as e:
            raise click.ClickException(str(getattr(e, "message", e))) from e
        check = ledger.verify_ledger(given, key)
        if check.ok:
            click.echo(f"ledger OK: {check.entries} entries, {check.checkpoints} checkpoints, root {check.root}")
            return
        click.echo(f"ledger BROKEN at entry {check.first_bad_seq}: {check.problem}", err=True)
        raise SystemExit(1)

    @ledger_group.command("checkpoint")
    def ledger_checkpoint_command():
        """Verify the ledger, then sign and store a checkpoint {seq, root, time} of its head (run daily,
        e.g. from cron; see README)."""
        import json

        from .errors import MarketplaceError
        from .services import ledger

        try:
            cp = ledger.create_checkpoint(None)
            out = ledger.checkpoint_out(cp).dump()
            db.session.commit()
        except MarketplaceError as e:
            db.session.rollback()
            raise click.ClickException(str(e.message)) from e
        click.echo(json.dumps(out))

    @ledger_group.command("public-key")
    def ledger_public_key_command():
        """Print the public key of the checkpoints (PEM), creating the key pair when there is none."""
        from .services import ledger

        click.echo(ledger.public_key_out(ledger.signing_key().public_key()).public_key_pem, nl=False)

    @ledger_group.command("grants")
    @click.argument("role")
    def ledger_grants_command(role):
        """Print the PostgreSQL GRANT/REVOKE statements for the application ROLE (run them as the owner)."""
        from .errors import MarketplaceError
        from .services import ledger

        try:
            click.echo(ledger.grants_sql(role))
        except MarketplaceError as e:
            raise click.ClickException(str(e.message)) from e

    @app.cli.group("jobs")
    def jobs_group():
        """Background jobs (matching rounds, expiry, the daily ledger checkpoint)."""

    @jobs_group.command("worker")
    @click.option("--workers", default=2, show_default=True, help="Worker threads.")
    def jobs_worker_command(workers):
        """Run the job queue's consumer and its periodic scheduler (JOBS_URL) until stopped (Ctrl-C, SIGTERM)."""
        import logging

        from . import jobs

        # the app's root handler (LOG_FORMAT: JSON lines by default) prints them, once
        for name in ("huey", "marketplace"):
            logging.getLogger(name).setLevel(logging.INFO)
        queue = jobs.jobs()
        if queue.huey.immediate:
            raise click.ClickException("JOBS_URL is immediate://: tasks run where they are asked for, no worker.")
        queue.huey.create_consumer(workers=workers, periodic=True).run()

    @jobs_group.command("run-pending")
    def jobs_run_pending_command():
        """Run what is waiting in the queue once, then exit (no periodic tasks)."""
        from . import jobs

        click.echo(f"{jobs.jobs().run_pending()} tasks run")

    @app.cli.command("db-is-empty")
    def db_is_empty_command():
        """Exit 0 when no organisation exists yet (used by `make run` to decide whether to seed)."""
        from sqlalchemy import select

        from .models import Organisation

        raise SystemExit(0 if db.session.scalar(select(Organisation.id).limit(1)) is None else 1)
