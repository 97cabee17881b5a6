"""Issue 10, findings 5 and 6: login that resists abuse, sessions and tokens that end, two-factor sign-in for
staff. Everything goes through the HTTP client, from several client addresses where it matters."""
from __future__ import annotations

import statistics
import time
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from tests.web.conftest import PASSWORD, TOTP_SECRET, csrf_token, login, post_form

API = "/api/v1"
STRANGER = {"REMOTE_ADDR": "203.0.113.66"}
OWNER = {"REMOTE_ADDR": "198.51.100.7"}


@pytest.fixture
def real_hashing(app, monkeypatch):
    """For a test that measures time: scrypt, as in production (the testing config hashes cheaply)."""
    from marketplace.config import Config

    monkeypatch.setitem(app.config, "PASSWORD_HASH_METHOD", Config().PASSWORD_HASH_METHOD)


def token_attempt(client, email, password, address=None, **extra):
    kwargs = {"environ_base": address} if address else {}
    return client.post(f"{API}/auth/token", json={"email": email, "password": password, **extra}, **kwargs)


def form_attempt(client, email, password, address=None):
    token = csrf_token(client, "/auth/login")
    kwargs = {"environ_base": address} if address else {}
    return client.post("/auth/login", data={"email": email, "password": password, "csrf_token": token}, **kwargs)


# --- the lockout and the limits ---------------------------------------------------------------------------

def test_a_stranger_cannot_lock_the_owner_out(client, make_user):
    user = make_user(kind="producer")
    for _ in range(5):
        assert token_attempt(client, user.email, "wrong-guess", STRANGER).status_code == 401
    # The stranger's address is locked out of that account, even with the right password...
    locked = token_attempt(client, user.email, PASSWORD, STRANGER)
    assert locked.status_code == 429 and locked.get_json()["error"]["code"] == "too_many_attempts"
    # ...while the owner, from their own address, gets in through the API and through the form.
    assert token_attempt(client, user.email, PASSWORD, OWNER).status_code == 201
    assert form_attempt(client, user.email, PASSWORD, OWNER).status_code == 302


def test_a_regulator_cannot_be_locked_out_by_a_stranger_through_the_form(client, make_user):
    regulator = make_user(kind="regulator")
    for _ in range(5):
        assert form_attempt(client, regulator.email, "wrong-guess", STRANGER).status_code == 200
    assert form_attempt(client, regulator.email, PASSWORD, STRANGER).status_code == 429
    response = form_attempt(client, regulator.email, PASSWORD, OWNER)
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/login/code")


def test_the_login_form_says_why_it_refuses_and_keeps_the_e_mail(client, make_user):
    user = make_user()
    for _ in range(5):
        form_attempt(client, user.email, "wrong-guess")
    response = form_attempt(client, user.email, "wrong-guess")
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert 'role="alert"' in html and user.email in html


def test_spraying_one_guess_over_many_accounts_is_slowed(app, client, make_user):
    users = [make_user() for _ in range(3)]
    emails = [u.email for u in users] + [f"nobody{i}@example.org" for i in range(40)]
    statuses = [token_attempt(client, email, "Spring2026!", STRANGER).status_code for email in emails[:31]]
    assert statuses[:30] == [401] * 30
    assert statuses[30] == 429  # one guess per account, but 31 accounts in a minute from one address
    # Another address is not slowed by that one.
    assert token_attempt(client, users[0].email, PASSWORD, OWNER).status_code == 201


def test_a_guesser_spread_over_many_addresses_is_slowed_per_account(client, make_user):
    user = make_user()
    for i in range(10):  # two failures from each of five addresses: no address reaches its lockout
        assert token_attempt(client, user.email, "wrong", {"REMOTE_ADDR": f"192.0.2.{i // 2 + 1}"}).status_code == 401
    assert token_attempt(client, user.email, "wrong", {"REMOTE_ADDR": "192.0.2.99"}).status_code == 429


def test_an_unknown_e_mail_gets_the_same_answers_as_a_known_one(client, make_user):
    user = make_user()
    known = [token_attempt(client, user.email, "wrong").status_code for _ in range(6)]
    unknown = [token_attempt(client, "nobody@example.org", "wrong").status_code for _ in range(6)]
    assert known == unknown == [401] * 5 + [429]
    known_form = [form_attempt(client, user.email, "wrong", OWNER).status_code for _ in range(6)]
    unknown_form = [form_attempt(client, "nobody@example.org", "wrong", OWNER).status_code for _ in range(6)]
    assert known_form == unknown_form == [200] * 5 + [429]


def test_an_unknown_e_mail_takes_as_long_as_a_known_one(real_hashing, client, make_user):
    """scrypt, as in production: the unknown e-mail must check a dummy hash of the same method."""
    user = make_user()

    def timed(email, address):
        start = time.perf_counter()
        assert token_attempt(client, email, "wrong", address).status_code == 401
        return time.perf_counter() - start

    known = statistics.median(timed(user.email, {"REMOTE_ADDR": f"192.0.2.{i}"}) for i in range(3))
    unknown = statistics.median(timed("nobody@example.org", {"REMOTE_ADDR": f"192.0.2.{i}"}) for i in range(3))
    assert unknown > 0.5 * known, (known, unknown)


def test_production_hashes_passwords_with_scrypt(monkeypatch):
    """Only the testing config hashes cheaply; production's method is not read from the environment."""
    from marketplace import create_app
    from marketplace.config import Config
    from marketplace.models import User

    monkeypatch.setenv("SECRET_KEY", "a" * 64)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("PASSWORD_HASH_METHOD", "plain")
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    production = create_app(Config)
    assert production.config["PASSWORD_HASH_METHOD"] == "scrypt"
    with production.app_context():
        user = User()
        user.set_password(PASSWORD)
        assert user.password_hash.startswith("scrypt:32768:8:1$")
        assert user.check_password(PASSWORD) and not user.check_password(PASSWORD + "!")


def test_the_testing_hash_is_cheap_and_still_tells_right_from_wrong(client, make_user):
    user = make_user()
    assert user.password_hash.startswith("pbkdf2:sha256:1$")
    assert token_attempt(client, user.email, PASSWORD).status_code == 201
    assert token_attempt(client, user.email, PASSWORD[:-1]).status_code == 401
    assert form_attempt(client, user.email, PASSWORD + " ").status_code == 200  # the form again, refused
    assert form_attempt(client, user.email, PASSWORD).status_code == 302


# --- the password policy ----------------------------------------------------------------------------------

def register(client, password, **overrides):
    data = {"org_name": "宁夏永宁新型墙材有限公司", "credit_code": "91350100M000100Y43", "kind": "consumer",
            "name": "王五", "email": "wang@example.org", "password": password, "confirm": password, **overrides}
    return client.post("/auth/register", data={**data, "csrf_token": csrf_token(client, "/auth/register")})


@pytest.mark.parametrize("password, message", [
    ("1234567890", "leaked"),            # in every leaked-password list
    ("password1234", "leaked"),
    ("aaaaaaaaaaaa", "too easy to guess"),
    ("abcdefghij1", "too easy to guess"),
    ("wangexample", "too easy to guess"),  # the user's own e-mail, nearly
])
def test_weak_and_breached_passwords_are_refused_on_registration(app, client, password, message):
    client.get("/lang/en")
    response = register(client, password)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html
    assert 'value="宁夏永宁新型墙材有限公司"' in html and 'value="wang@example.org"' in html  # kept what was typed
    assert response.status_code != 302


@pytest.mark.parametrize("password", ["brick-maker-kiln-2026", "长城砖窑粉煤灰-kiln-2026",
                                      "the-quick-brown-fox-jumps-over-the-lazy-dog-near-ningxia-ash-ponds-at-dawn-2026"])
def test_a_strong_password_registers(client, password):
    assert register(client, password).status_code == 302


def test_a_new_password_must_be_strong_too(client, logged_in):
    client, _user = logged_in()
    client.get("/lang/en")
    response = post_form(client, "/auth/account", {"current_password": PASSWORD, "password": "1234567890",
                                                   "confirm": "1234567890"})
    assert response.status_code == 200 and "leaked" in response.get_data(as_text=True)


# --- two-factor sign-in -----------------------------------------------------------------------------------

def code_for(step_offset=0, secret=TOTP_SECRET):
    totp = pyotp.TOTP(secret)
    return totp.at(time.time() + 30 * step_offset)


@pytest.mark.parametrize("kind", ["regulator", "operator"])
def test_staff_need_the_code_after_the_password(client, make_user, kind):
    user = make_user(kind=kind)
    response = form_attempt(client, user.email, PASSWORD)
    assert response.headers["Location"].endswith("/auth/login/code")
    assert client.get("/org/").status_code == 302  # not logged in by the password alone
    token = csrf_token(client, "/auth/login/code")
    wrong = client.post("/auth/login/code", data={"code": "000000" if code_for() != "000000" else "111111",
                                                  "csrf_token": token})
    assert wrong.status_code == 200 and client.get("/org/").status_code == 302
    right = client.post("/auth/login/code", data={"code": code_for(), "csrf_token": token})
    assert right.status_code == 302
    assert client.get("/org/").status_code == 200


def test_a_code_cannot_be_used_twice(app, client, make_user):
    user = make_user(kind="regulator")
    code = code_for()
    form_attempt(client, user.email, PASSWORD)
    token = csrf_token(client, "/auth/login/code")
    assert client.post("/auth/login/code", data={"code": code, "csrf_token": token}).status_code == 302
    # Someone who saw the code tries it from another browser within its window.
    other = app.test_client()
    form_attempt(other, user.email, PASSWORD)
    replay = other.post("/auth/login/code", data={"code": code, "csrf_token": csrf_token(other, "/auth/login/code")})
    assert replay.status_code == 200
    assert other.get("/org/").status_code == 302
    # And through the API.
    assert token_attempt(client, user.email, PASSWORD, totp=code).status_code == 401


def test_the_api_wants_the_code_from_staff(client, make_user):
    user = make_user(kind="operator")
    missing = token_attempt(client, user.email, PASSWORD)
    assert missing.status_code == 401 and missing.get_json()["error"]["field"] == "totp"
    assert token_attempt(client, user.email, PASSWORD, totp=code_for()).status_code == 201


def test_guessing_codes_is_locked_out(client, make_user):
    user = make_user(kind="regulator")
    form_attempt(client, user.email, PASSWORD)
    token = csrf_token(client, "/auth/login/code")
    good = code_for()
    bad = [f"{n:06d}" for n in range(100000, 100010) if f"{n:06d}" not in {code_for(-1), good, code_for(1)}]
    for code in bad[:5]:
        assert client.post("/auth/login/code", data={"code": code, "csrf_token": token}).status_code == 200
    assert client.post("/auth/login/code", data={"code": good, "csrf_token": token}).status_code == 429


def test_guessing_codes_through_the_api_is_limited_per_account_from_any_address(client, make_user):
    """The token endpoint takes the password and the code at once: wrong codes from rotating addresses are
    limited per account as on the form, and a stranger's wrong passwords do not count against the owner."""
    user = make_user(kind="regulator")
    good = code_for()
    bad = [f"{n:06d}" for n in range(100000, 100020) if f"{n:06d}" not in {code_for(-1), good, code_for(1)}]
    for i in range(3):  # a stranger without the password: refused, and no code is ever counted
        address = {"REMOTE_ADDR": f"198.51.100.{i}"}
        assert token_attempt(client, user.email, "wrong-password", address).status_code == 401
    for i, code in enumerate(bad[:5]):
        answer = token_attempt(client, user.email, PASSWORD, {"REMOTE_ADDR": f"203.0.113.{i}"}, totp=code)
        assert answer.status_code == 401
    answer = token_attempt(client, user.email, PASSWORD, {"REMOTE_ADDR": "203.0.113.99"}, totp=bad[5])
    assert answer.status_code == 429


def test_staff_without_a_second_factor_enrol_before_anything_else(client, db, make_user):
    from marketplace.models import AuditEntry

    user = make_user(kind="operator")
    user.totp_secret = None
    db.session.commit()
    login(client, user)
    response = client.get("/admin/organisations")
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/account")
    page = client.get("/auth/account").get_data(as_text=True)
    assert 'id="totp-secret"' in page and "otpauth://totp/" in page
    with client.session_transaction() as session:
        secret = session["_totp_setup"]
    assert secret in page
    token = csrf_token(client, "/auth/account")
    assert client.post("/auth/account/two-factor", data={"code": "12345", "csrf_token": token}).status_code == 400
    response = client.post("/auth/account/two-factor", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token})
    assert response.status_code == 302
    assert client.get("/admin/organisations").status_code == 200
    db.session.expire_all()
    assert db.session.get(type(user), user.id).totp_secret == secret
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.totp"))
    assert entry.actor_id == user.id and entry.details == {"event": "enrolled"}


def test_moving_a_second_factor_to_a_new_phone_needs_the_password(client, db, make_user):
    """An open session alone (a shared computer) must not be enough to take over someone's second factor."""
    user = make_user(kind="regulator")
    client.get("/lang/en")
    login(client, user)
    page = client.get("/auth/account?totp=new").get_data(as_text=True)
    assert 'name="account_password"' in page
    with client.session_transaction() as session:
        secret = session["_totp_setup"]
    token = csrf_token(client, "/auth/account")
    refused = client.post("/auth/account/two-factor", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token,
                                                            "account_password": "not-the-password"})
    assert refused.status_code == 400 and "current password" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(user), user.id).totp_secret == TOTP_SECRET
    moved = client.post("/auth/account/two-factor", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token,
                                                          "account_password": PASSWORD})
    assert moved.status_code == 302
    db.session.expire_all()
    assert db.session.get(type(user), user.id).totp_secret == secret


def test_producers_may_enrol_but_need_not(client, logged_in):
    client, _user = logged_in(kind="producer")
    assert client.get("/org/").status_code == 200
    assert 'id="totp-secret"' in client.get("/auth/account").get_data(as_text=True)


# --- sessions that end ------------------------------------------------------------------------------------

def session_cookie(client) -> str:
    return client.get_cookie("session").value


def client_with_cookie(app, value):
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def test_an_old_session_cookie_is_refused_after_logout(app, client, logged_in):
    client, _user = logged_in()
    copied = session_cookie(client)
    assert client_with_cookie(app, copied).get("/org/").status_code == 200
    post_form(client, "/auth/logout", {})
    assert client_with_cookie(app, copied).get("/org/").status_code == 302


def test_a_password_change_ends_other_sessions_and_tokens(app, client, db, logged_in):
    client, user = logged_in()
    elsewhere = client_with_cookie(app, session_cookie(client))
    token = token_attempt(app.test_client(), user.email, PASSWORD).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{API}/sites", headers=headers).status_code == 200
    response = post_form(client, "/auth/account", {"current_password": PASSWORD, "password": "kiln-ash-brick-2027",
                                                   "confirm": "kiln-ash-brick-2027"})
    assert response.status_code == 302
    assert client.get("/org/").status_code == 200          # this session goes on
    assert elsewhere.get("/org/").status_code == 302       # every other one has ended
    refused = client.get(f"{API}/sites", headers=headers)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "unauthorised"
    client.get("/lang/en")
    tokens_page = client.get("/auth/tokens").get_data(as_text=True)
    assert tokens_page.count('<td class="token-status">revoked</td>') == 1, tokens_page


def test_a_deactivated_colleague_loses_their_session(app, client, db, make_user):
    admin = make_user()
    member = make_user(org=admin.organisation, role="member")
    member_client = app.test_client()
    login(member_client, member)
    login(client, admin)
    response = post_form(client, f"/org/users/{member.id}", {f"u{member.id}-role": "member"})  # unticked: off
    assert response.status_code == 302
    assert member_client.get("/org/").status_code == 302


# --- tokens that end --------------------------------------------------------------------------------------

def test_tokens_expire(client, db, make_user):
    from marketplace.clock import utcnow
    from marketplace.models import ApiToken

    user = make_user()
    response = token_attempt(client, user.email, PASSWORD, days=7)
    assert response.status_code == 201
    body = response.get_json()
    headers = {"Authorization": f"Bearer {body['token']}"}
    row = db.session.get(ApiToken, body["id"])
    assert timedelta(days=6, hours=23) < row.expires_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None) \
        <= timedelta(days=7)
    assert client.get(f"{API}/sites", headers=headers).status_code == 200
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.get(f"{API}/sites", headers=headers)
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorised"


def test_a_token_lives_90_days_unless_told(client, db, make_user):
    from marketplace.clock import as_utc
    from marketplace.models import ApiToken

    user = make_user()
    row = db.session.get(ApiToken, token_attempt(client, user.email, PASSWORD).get_json()["id"])
    assert as_utc(row.expires_at) - as_utc(row.created_at) == timedelta(days=90)


@pytest.mark.parametrize("days", [0, 366, -1, "7", 1.5, True])
def test_a_token_lifetime_out_of_range_is_422(client, make_user, days):
    user = make_user()
    response = token_attempt(client, user.email, PASSWORD, days=days)
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "days"


def test_the_tokens_page_sets_and_shows_the_expiry(client, db, logged_in):
    from marketplace.clock import to_cst
    from marketplace.models import ApiToken

    client, _user = logged_in()
    refused = post_form(client, "/auth/tokens", {"name": "地磅", "days": "400"}, page="/auth/tokens")
    assert refused.status_code == 200 and 'value="400"' in refused.get_data(as_text=True)
    assert db.session.scalar(select(ApiToken)) is None
    page = post_form(client, "/auth/tokens", {"name": "地磅", "days": "30"}, page="/auth/tokens")
    row = db.session.scalar(select(ApiToken))
    assert to_cst(row.expires_at).strftime("%Y-%m-%d %H:%M") in page.get_data(as_text=True)


def test_the_operator_resets_a_lost_second_factor(app, client, db, make_user):
    from marketplace.models import AuditEntry, User
    from marketplace.services import tokens

    regulator = make_user(kind="regulator")
    _, api_token = tokens.create_token(regulator, "issued with the lost phone")
    db.session.commit()
    regulator_client = app.test_client()
    login(regulator_client, regulator)
    # A regulator may not reset anyone's, not even a colleague's.
    assert post_form(regulator_client, f"/admin/users/{regulator.id}/reset-two-factor", {}).status_code == 403
    operator = make_user(kind="operator")
    login(client, operator)
    response = post_form(client, f"/admin/users/{regulator.id}/reset-two-factor", {})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, regulator.id).totp_secret is None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.totp"))
    assert entry.actor_id == operator.id and entry.target_id == regulator.id and entry.details["event"] == "reset"
    # A token issued under the lost factor ends with it.
    assert client.get("/api/v1/sites", headers={"Authorization": f"Bearer {api_token}"}).status_code == 401
    # The regulator's session ended; at the next login they must set up a new app before anything else.
    assert regulator_client.get("/subsidies/").status_code == 302
    login(regulator_client, regulator)
    response = regulator_client.get("/subsidies/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/account")
