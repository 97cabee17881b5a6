"""Every route x every kind of visitor: the expected status. A new route fails this test until it is
added to the matrix, so no route ships without a decision about who may use it."""
import pytest

from tests.web.conftest import login, post_form

ROLES = ["anonymous", "producer_admin", "producer_member", "unverified_producer", "consumer", "regulator",
         "operator"]
LOGGED_IN = ROLES[1:]
STAFF = {"regulator", "operator"}


def expect(default, **overrides):
    """Expected status per role: `default` for every role not named."""
    return {role: overrides.get(role, default) for role in ROLES}


# (method, rule as in app.url_map, concrete path (with {own_site}, {other_site}, {pending_org}))
MATRIX = [
    ("GET", "/", "/", expect(200)),
    ("GET", "/materials", "/materials", expect(200)),
    ("GET", "/lang/<code>", "/lang/en", expect(302)),
    ("GET", "/auth/login", "/auth/login", expect(302, anonymous=200)),
    ("POST", "/auth/login", "/auth/login", expect(302, anonymous=200)),
    ("GET", "/auth/register", "/auth/register", expect(302, anonymous=200)),
    ("POST", "/auth/register", "/auth/register", expect(302, anonymous=200)),
    ("GET", "/auth/account", "/auth/account", expect(200, anonymous=302)),
    ("POST", "/auth/account", "/auth/account", expect(200, anonymous=302)),
    ("POST", "/auth/logout", "/auth/logout", expect(302)),
    ("GET", "/org/", "/org/", expect(200, anonymous=302)),
    ("GET", "/org/sites", "/org/sites", expect(302)),
    ("GET", "/org/users", "/org/users", expect(403, anonymous=302, producer_admin=200, unverified_producer=200,
                                                consumer=200, regulator=200, operator=200)),
    ("POST", "/org/users", "/org/users", expect(403, anonymous=302, producer_admin=200, unverified_producer=200,
                                                 consumer=200, regulator=200, operator=200)),
    ("POST", "/org/users/<int:user_id>", "/org/users/{other_user}",
     expect(404, anonymous=302, producer_member=403)),
    ("GET", "/org/sites/new", "/org/sites/new", expect(200, anonymous=302)),
    ("POST", "/org/sites/new", "/org/sites/new", expect(200, anonymous=302)),
    ("GET", "/org/sites/<int:site_id>/edit", "/org/sites/{own_site}/edit", expect(200, anonymous=302)),
    # a POST that leaves every field out keeps the site as it was (WTForms falls back to the object)
    ("POST", "/org/sites/<int:site_id>/edit", "/org/sites/{own_site}/edit", expect(302)),
    ("POST", "/org/sites/<int:site_id>/edit", "/org/sites/{other_site}/edit", expect(404, anonymous=302)),
    ("GET", "/org/sites/<int:site_id>/edit", "/org/sites/{other_site}/edit", expect(404, anonymous=302)),
    ("POST", "/org/sites/<int:site_id>/archive", "/org/sites/{other_site}/archive", expect(404, anonymous=302)),
    ("POST", "/org/sites/<int:site_id>/delete", "/org/sites/{other_site}/delete", expect(404, anonymous=302)),
    ("GET", "/generation/", "/generation/", expect(403, anonymous=302, producer_admin=200, producer_member=200,
                                                   unverified_producer=200)),
    ("POST", "/generation/", "/generation/", expect(403, anonymous=302, producer_admin=200, producer_member=200,
                                                    unverified_producer=200)),
    ("GET", "/admin/organisations", "/admin/organisations", expect(403, anonymous=302, regulator=200,
                                                                   operator=200)),
    ("GET", "/admin/organisations/<int:org_id>", "/admin/organisations/{pending_org}",
     expect(403, anonymous=302, regulator=200, operator=200)),
    ("POST", "/admin/organisations/<int:org_id>", "/admin/organisations/{pending_org}",
     expect(403, anonymous=302, regulator=302, operator=302)),
]


def test_every_route_is_in_the_matrix(app):
    covered = {(method, rule) for method, rule, _path, _exp in MATRIX}
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (method, rule.rule) not in covered:
                missing.append(f"{method} {rule.rule}")
    assert not missing, f"routes without an authorisation decision: {missing}"


@pytest.fixture
def world(make_user, make_org, make_site):
    """One organisation per role; the 'own' site belongs to the visitor, the 'other' site to a stranger."""
    def build(role):
        stranger = make_user(kind="producer")
        other_site = make_site(stranger.organisation, name="stranger site")
        pending = make_org(kind="consumer", verified=False)
        user = None
        if role != "anonymous":
            kind = {"producer_admin": "producer", "producer_member": "producer",
                    "unverified_producer": "producer"}.get(role, role)
            user = make_user(kind=kind, role="member" if role == "producer_member" else "admin",
                             verified=role != "unverified_producer")
        own_site = make_site(user.organisation if user else stranger.organisation, name="own site")
        ids = {"own_site": own_site.id, "other_site": other_site.id, "pending_org": pending.id,
               "other_user": stranger.id}
        return user, ids

    return build


@pytest.mark.parametrize("role", ROLES)
def test_authorisation_matrix(client, world, role):
    user, ids = world(role)
    if user is not None:
        login(client, user)
    failures = []
    for method, _rule, path, expected in MATRIX:
        url = path.format(**ids)
        if method == "GET":
            status = client.get(url).status_code
        elif role == "anonymous":
            from tests.web.conftest import csrf_token

            status = client.post(url, data={"csrf_token": csrf_token(client)}).status_code
        else:
            data = {"decision": "verified", "note": ""} if "admin/organisations" in url else {}
            status = post_form(client, url, data).status_code
            if url == "/auth/logout":
                login(client, user)
        if status != expected[role]:
            failures.append(f"{method} {url}: {status}, expected {expected[role]}")
    assert not failures, f"{role}: " + "; ".join(failures)
