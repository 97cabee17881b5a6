"""Registration, login, logout, lockout, passwords."""
import pytest
from sqlalchemy import func, select

from marketplace.identifiers import make_uscc
from marketplace.models import Organisation, User, UserRole, VerificationStatus
from tests.web.conftest import PASSWORD, csrf_token, login, post_form

VALID_CODE = "91350100M000100Y43"


def register_data(**overrides):
    data = {"org_name": "宁夏测试水泥有限公司", "credit_code": VALID_CODE, "kind": "consumer", "name": "张三",
            "email": "zhang@example.org", "password": "a-long-password", "confirm": "a-long-password"}
    data.update(overrides)
    return data


def use_english(client):
    client.get("/lang/en")


def test_registration_creates_a_pending_organisation_and_its_admin(client, db):
    token = csrf_token(client, "/auth/register")
    response = client.post("/auth/register", data={**register_data(), "csrf_token": token})
    assert response.status_code == 302
    org = db.session.scalar(select(Organisation).where(Organisation.credit_code == VALID_CODE))
    assert org.verification == VerificationStatus.PENDING
    user = org.users[0]
    assert user.role == UserRole.ADMIN
    assert user.password_hash != "a-long-password" and user.check_password("a-long-password")
    # logged in straight away, and told that verification is pending
    assert "zhang@example.org" in client.get("/org/").get_data(as_text=True)


@pytest.mark.parametrize("field,value,message", [
    ("credit_code", "91350100M000100Y44", "not a valid unified social credit code"),
    ("credit_code", "ABC", "not a valid unified social credit code"),
    ("credit_code", "91350100M000100YI3", "not a valid unified social credit code"),
    ("email", "not-an-email", "valid e-mail"),
    ("password", "short", "at least 10 characters"),
    ("kind", "regulator", "Not a valid choice"),
    ("org_name", "x" * 100_000, "At most 200 characters"),
    ("name", "", "This field is required"),
])
def test_registration_refuses_bad_input_and_saves_nothing(client, db, field, value, message):
    use_english(client)
    data = register_data(**{field: value})
    if field == "password":
        data["confirm"] = value
    token = csrf_token(client, "/auth/register")
    response = client.post("/auth/register", data={**data, "csrf_token": token})
    assert response.status_code == 200
    assert message.lower() in response.get_data(as_text=True).lower()
    assert db.session.scalar(select(func.count(Organisation.id))) == 0
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_registration_message_is_in_chinese_by_default(client, db):
    token = csrf_token(client, "/auth/register")
    response = client.post("/auth/register", data={**register_data(credit_code="123"), "csrf_token": token})
    assert "统一社会信用代码" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Organisation.id))) == 0


def test_a_registered_credit_code_or_email_cannot_register_again(client, db, make_user):
    existing = make_user(kind="producer", email="taken@example.org")
    use_english(client)
    token = csrf_token(client, "/auth/register")
    r = client.post("/auth/register", data={**register_data(credit_code=existing.organisation.credit_code),
                                            "csrf_token": token})
    assert "already registered" in r.get_data(as_text=True)
    r = client.post("/auth/register", data={**register_data(email="TAKEN@example.org"), "csrf_token": token})
    assert "already registered" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Organisation.id))) == 1


def test_post_without_csrf_token_is_refused(client, db):
    response = client.post("/auth/register", data=register_data())
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(Organisation.id))) == 0


def test_login_and_logout(client, make_user):
    user = make_user()
    response = login(client, user)
    assert response.headers["Location"] == "/"
    assert client.get("/org/").status_code == 200
    assert post_form(client, "/auth/logout", {}).status_code == 302
    assert client.get("/org/").status_code == 302


def test_login_with_a_wrong_password_fails_with_a_message(client, make_user):
    user = make_user()
    use_english(client)
    token = csrf_token(client)
    response = client.post("/auth/login", data={"email": user.email, "password": "wrong", "csrf_token": token})
    assert response.status_code == 200
    assert "Wrong e-mail address or password" in response.get_data(as_text=True)
    assert client.get("/org/").status_code == 302


def test_repeated_failures_lock_the_account_for_a_while(client, make_user, app):
    user = make_user()
    token = csrf_token(client)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post("/auth/login", data={"email": user.email, "password": "wrong", "csrf_token": token})
    use_english(client)
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert "Too many failed attempts" in response.get_data(as_text=True)
    assert client.get("/org/").status_code == 302


def test_deactivated_user_cannot_log_in(client, make_user, db):
    user = make_user()
    user.active = False
    db.session.commit()
    token = csrf_token(client)
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 200
    assert client.get("/org/").status_code == 302


@pytest.mark.parametrize("target,expected", [("/org/", "/org/"), ("https://evil.example/", "/"),
                                             ("//evil.example/", "/"), ("/\\evil.example", "/")])
def test_login_redirects_only_within_the_site(client, make_user, target, expected):
    user = make_user()
    token = csrf_token(client)
    response = client.post(f"/auth/login?next={target}", data={"email": user.email, "password": PASSWORD,
                                                                "csrf_token": token})
    assert response.headers["Location"] == expected


def test_change_password(logged_in, db):
    client, user = logged_in()
    use_english(client)
    r = post_form(client, "/auth/account", {"current_password": "nope", "password": "another-long-one",
                                            "confirm": "another-long-one"})
    assert "current password is wrong" in r.get_data(as_text=True)
    r = post_form(client, "/auth/account", {"current_password": PASSWORD, "password": "another-long-one",
                                            "confirm": "another-long-one"})
    assert r.status_code == 302
    db.session.refresh(user)
    assert user.check_password("another-long-one")


def test_org_admin_adds_and_deactivates_a_colleague(logged_in, db):
    client, admin = logged_in(role="admin")
    r = post_form(client, "/org/users", {"name": "李四", "email": "li@example.org", "password": "colleague-pass",
                                         "role": "member"})
    assert r.status_code == 302
    colleague = db.session.scalar(select(User).where(User.email == "li@example.org"))
    assert colleague.organisation_id == admin.organisation_id and colleague.role == UserRole.MEMBER
    token = csrf_token(client, "/org/users")
    r = client.post(f"/org/users/{colleague.id}", data={f"u{colleague.id}-role": "member",
                                                        f"u{colleague.id}-csrf_token": token})
    assert r.status_code == 302
    db.session.refresh(colleague)
    assert colleague.active is False


def test_the_last_admin_cannot_demote_themselves(logged_in, db):
    client, admin = logged_in(role="admin")
    use_english(client)
    token = csrf_token(client, "/org/users")
    r = client.post(f"/org/users/{admin.id}", data={f"u{admin.id}-role": "member", f"u{admin.id}-active": "y",
                                                    f"u{admin.id}-csrf_token": token}, follow_redirects=True)
    assert "at least one active administrator" in r.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.role == UserRole.ADMIN


def test_admin_cannot_edit_a_user_of_another_organisation(logged_in, make_user, db):
    client, _admin = logged_in(role="admin")
    stranger = make_user()
    token = csrf_token(client, "/org/users")
    r = client.post(f"/org/users/{stranger.id}", data={f"u{stranger.id}-role": "member",
                                                       f"u{stranger.id}-csrf_token": token})
    assert r.status_code == 404
    db.session.refresh(stranger)
    assert stranger.active is True and stranger.role == UserRole.ADMIN


def test_uscc_helper_accepts_published_examples():
    from marketplace.identifiers import is_valid_uscc

    assert is_valid_uscc("91350100M000100Y43")
    assert is_valid_uscc("9111000071093123XX")
    assert not is_valid_uscc("91350100M000100Y42")
    assert not is_valid_uscc("91350100M000100Y4")
    assert is_valid_uscc(make_uscc("91640100MA0000001"))
