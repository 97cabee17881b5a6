"""Command-line commands (`flask --app wsgi ...`). Thin: they call services and commit."""
import click
from flask import Flask

from .extensions import db


def register_cli(app: Flask) -> None:
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
    def ledger_verify_command():
        """Recompute the SHA-256 chain; exit 1 naming the first bad entry."""
        from .services.deliveries import verify_chain

        check = verify_chain()
        if check.ok:
            click.echo(f"ledger OK: {check.entries} entries")
            return
        click.echo(f"ledger BROKEN at entry {check.first_bad_seq}: {check.problem}", err=True)
        raise SystemExit(1)

    @app.cli.command("db-is-empty")
    def db_is_empty_command():
        """Exit 0 when no organisation exists yet (used by `make run` to decide whether to seed)."""
        from sqlalchemy import select

        from .models import Organisation

        raise SystemExit(0 if db.session.scalar(select(Organisation.id).limit(1)) is None else 1)
