"""Extension singletons, bound to an app in create_app()."""
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, cast

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import CursorResult, Engine, Result
from sqlalchemy.orm import DeclarativeBase

# Named constraints so Alembic can alter them (and SQLite batch mode can recreate tables).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

if TYPE_CHECKING:
    # What db.Model is, said so that a type checker can follow it (a base class must be a class, not the
    # attribute of an object): the declarative base, plus Flask-SQLAlchemy's table-name and bind handling.
    class Model(Base):
        __abstract__ = True
else:
    Model = db.Model
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Rate limits on login, token and registration (marketplace/auth/limits.py); storage from RATELIMIT_STORAGE_URI.
limiter = Limiter(key_func=get_remote_address)


#: Ids per `IN (...)` list: a market-wide job asks about tens of thousands of listings, beyond what a
#: statement may carry (SQLite: 32,766 parameters; PostgreSQL's protocol: 65,535) and what a planner handles well.
IN_BATCH = 1000


def in_batches(ids: Iterable[int], size: int | None = None) -> Iterator[list[int]]:
    """The ids in sorted lists of at most `size` (IN_BATCH), one statement each."""
    size = size or IN_BATCH
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), size):
        yield ordered[start:start + size]


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched (a conditional update's answer: 1 = this request won the race).
    Session.execute() is typed as returning a Result; for such a statement it is a CursorResult, the one
    result that has a rowcount."""
    return cast("CursorResult[Any]", result).rowcount


@event.listens_for(Engine, "connect")
def _sqlite_enforces_foreign_keys(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite ignores foreign keys unless asked; ask, so it refuses what PostgreSQL refuses."""
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
