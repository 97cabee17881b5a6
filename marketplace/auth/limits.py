"""Rate limits and the lockout for logging in, getting an API token, the second factor and registering.

Three limits guard every password attempt (the login form and POST /api/v1/auth/token share them):
- per client address, every attempt whatever the account: slows spraying one guess over many accounts;
- per account, failed attempts from all addresses together: slows a guesser spread over many addresses,
  and only slows (a short window), so a stranger cannot keep the owner out;
- the lockout, failed attempts per (account, client address): after LOGIN_MAX_FAILURES that address is
  refused for that account for LOGIN_LOCKOUT_MINUTES, while the owner elsewhere still logs in.
Keys are the e-mail as typed (normalised), whether or not it has an account, so that an unknown e-mail
answers exactly like a known one. Counts live in Flask-Limiter's storage (RATELIMIT_STORAGE_URI)."""
from __future__ import annotations

import hashlib

from flask import Response, current_app, g, request, session
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address

from ..extensions import limiter

#: The session key of a login waiting for its second factor.
PENDING_KEY = "_pending_totp"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def attempted_email() -> str:
    """The e-mail of the login or token request, normalised; "" when there is none."""
    if request.is_json:
        body = request.get_json(silent=True)
        email = body.get("email") if isinstance(body, dict) else None
    else:
        email = request.form.get("email")
    return email.strip().lower() if isinstance(email, str) else ""


def _account_key() -> str:
    email = attempted_email()
    return f"account:{_digest(email)}" if email else ""  # an empty key skips the limit (422 follows)


def _lockout_key() -> str:
    email = attempted_email()
    return f"lockout:{_digest(email)}:{get_remote_address()}" if email else ""


def _totp_account_key() -> str:
    """The user whose password was right and whose code is awaited (the session says who)."""
    pending = session.get(PENDING_KEY) or {}
    uid = pending.get("uid") if isinstance(pending, dict) else None
    return f"totp:{uid}" if uid else ""


def _totp_lockout_key() -> str:
    key = _totp_account_key()
    return f"{key}:{get_remote_address()}" if key else ""


def mark_failed() -> None:
    """The view says the attempt failed: it counts against the account and the lockout."""
    g.login_failed = True


def mark_code_failed() -> None:
    """A wrong second-factor code (the password was right): it also counts against the code limit."""
    g.login_failed = True
    g.code_failed = True


def _failed(response: Response) -> bool:
    return bool(g.get("login_failed"))


def _code_failed(response: Response) -> bool:
    return bool(g.get("code_failed"))


def _api_totp_key() -> str:
    """The token endpoint's account for its code limit (only a caller who knew the password gets this far)."""
    email = attempted_email()
    return f"totp-api:{_digest(email)}" if email else ""


def _lockout() -> str:
    cfg = current_app.config
    return f"{cfg['LOGIN_MAX_FAILURES']} per {cfg['LOGIN_LOCKOUT_MINUTES']} minutes"


def _too_many_here() -> str:
    return _("Too many attempts from your address. Wait a minute and try again.")


def _too_many_failures() -> str:
    return _("Too many failed attempts. Try again in a few minutes.")


per_address = limiter.shared_limit(lambda: current_app.config["LOGIN_RATE_LIMIT_PER_ADDRESS"], "login-address",
                                   methods=["POST"], error_message=_too_many_here)
per_account = limiter.shared_limit(lambda: current_app.config["LOGIN_RATE_LIMIT_PER_ACCOUNT"], "login-account",
                                   key_func=_account_key, methods=["POST"], deduct_when=_failed,
                                   error_message=_too_many_failures)
lockout = limiter.shared_limit(_lockout, "login-lockout", key_func=_lockout_key, methods=["POST"],
                               deduct_when=_failed, error_message=_too_many_failures)
# A six-digit code is guessed far sooner than a password: its per-account limit is the lockout's.
totp_per_account = limiter.shared_limit(_lockout, "totp-account", key_func=_totp_account_key, methods=["POST"],
                                        deduct_when=_failed, error_message=_too_many_failures)
totp_lockout = limiter.shared_limit(_lockout, "totp-lockout", key_func=_totp_lockout_key, methods=["POST"],
                                    deduct_when=_failed, error_message=_too_many_failures)
# The token endpoint asks for the code in the same request as the password: wrong codes are limited per
# account as on the form, whatever the address (otherwise rotating addresses guess a code 30 times faster).
totp_api_account = limiter.shared_limit(_lockout, "totp-api-account", key_func=_api_totp_key, methods=["POST"],
                                        deduct_when=_code_failed, error_message=_too_many_failures)
def _bearer_key() -> str:
    """The API token of the request (hashed), else the client's address."""
    header = request.headers.get("Authorization", "")
    return f"token:{_digest(header)}" if header else f"address:{get_remote_address()}"


# Proofs hash the whole tree prefix they cover: each token gets a bounded share of that work.
ledger_proofs = limiter.shared_limit(lambda: current_app.config["LEDGER_PROOF_RATE_LIMIT"], "ledger-proofs",
                                     key_func=_bearer_key, error_message=_too_many_here)
registration = limiter.limit(lambda: current_app.config["REGISTER_RATE_LIMIT"], methods=["POST"],
                             error_message=_too_many_here)


def password_attempt(view):
    """All three limits of a password attempt, for the login form and the token endpoint."""
    return per_address(per_account(lockout(view)))


def totp_attempt(view):
    return per_address(totp_per_account(totp_lockout(view)))
