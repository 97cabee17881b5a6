"""The audit log's foundation: entries carry who, what, on which object and from which address."""
import pytest

from marketplace.services import audit


def test_an_entry_records_actor_target_details_and_address(db, make_user):
    user = make_user(kind="operator")
    token = audit.request_address.set("203.0.113.7")
    try:
        entry = audit.record(user, "organisation.verify", user.organisation, {"to": "verified"})
        db.session.commit()
    finally:
        audit.request_address.reset(token)
    assert (entry.actor_id, entry.actor_org_id) == (user.id, user.organisation_id)
    assert (entry.target_type, entry.target_id) == ("organisation", user.organisation_id)
    assert entry.details == {"to": "verified"} and entry.address == "203.0.113.7"
    assert db.session.scalars(audit.query(action="organisation.verify")).all() == [entry]


def test_an_unknown_action_is_a_programming_error(db, make_user):
    with pytest.raises(ValueError):
        audit.record(make_user(), "made.up")
