"""The solid-waste exchange for Ningxia's industry: the Flask application factory."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, session

from .config import BASE_DIR, Config, DevelopmentConfig
from .extensions import babel, csrf, db, limiter, login_manager, migrate


def select_locale() -> str:
    """The language the visitor chose with the switch; Simplified Chinese otherwise."""
    from flask import current_app, has_request_context

    chosen = session.get("lang") if has_request_context() else None  # CLI and background work
    if isinstance(chosen, str) and chosen in current_app.config["LANGUAGES"]:
        return chosen
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def create_app(config_class: type[Config] | Config | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, CLI commands."""
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
        instance_path=str(BASE_DIR / "instance"),
    )
    if config_class is None:
        import os

        config_class = DevelopmentConfig if os.environ.get("FLASK_DEBUG") in {"1", "true"} else Config
    config = config_class() if isinstance(config_class, type) else config_class
    config.check()
    app.config.from_object(config)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(Path(__file__).parent / "translations"))

    from . import ops

    ops.init_app(app)  # logs with a request id, /healthz, /readyz, /metrics, 503 when the database is down

    from . import auth, jobs, web

    auth.init_login(login_manager)
    web.init_app(app)
    jobs.init_app(app)

    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .deliveries import bp as deliveries_bp
    from .generation import bp as generation_bp
    from .listings import bp as listings_bp
    from .main import bp as main_bp
    from .matches import bp as matches_bp
    from .notifications import bp as notifications_bp
    from .org import bp as org_bp
    from .papers import bp as papers_bp
    from .seasonal import bp as seasonal_bp
    from .subsidies import bp as subsidies_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(org_bp, url_prefix="/org")
    app.register_blueprint(generation_bp, url_prefix="/generation")
    app.register_blueprint(listings_bp, url_prefix="/listings")
    app.register_blueprint(matches_bp, url_prefix="/match")
    app.register_blueprint(deliveries_bp, url_prefix="/deliveries")
    app.register_blueprint(subsidies_bp, url_prefix="/subsidies")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(papers_bp, url_prefix="/papers")
    app.register_blueprint(seasonal_bp, url_prefix="/seasonal")
    app.register_blueprint(notifications_bp, url_prefix="/notifications")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    csrf.exempt(api_bp)  # the API authenticates each request by its bearer token, never by cookie

    from .cli import register_cli

    register_cli(app)

    from . import headers

    headers.init_app(app)  # CSP, HSTS, Permissions-Policy and the rest, by Flask-Talisman

    return app
