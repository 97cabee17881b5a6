"""Rounds through the real job queue (huey's SQLite queue, not immediate mode): queued -> done by a worker
thread, cancel while queued and while running, a failed solve, and the scheduled jobs."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.clock import today_cst
from marketplace.models import MatchRound, Proposal, RoundStatus
from tests.web.conftest import token_request


@pytest.fixture
def real_queue(app, tmp_path):
    """The app's queue becomes a real huey SQLite queue in a temp file for this test: tasks wait for a worker."""
    from marketplace import jobs

    saved_url, saved = app.config["JOBS_URL"], app.extensions["jobs"]
    app.config["JOBS_URL"] = f"sqlite:///{tmp_path}/jobs.db"
    app.extensions["jobs"] = queue = jobs.Jobs(app)
    yield queue
    app.extensions["jobs"], app.config["JOBS_URL"] = saved, saved_url


@pytest.fixture
def worker(real_queue):
    """A huey consumer's worker thread on the real queue, as `flask jobs worker` runs it (without signals)."""
    consumer = real_queue.huey.create_consumer(workers=1, periodic=False, initial_delay=0.05, max_delay=0.2)
    consumer.scheduler.start()
    for _, thread in consumer.worker_threads:
        thread.start()
    yield consumer
    consumer.stop(graceful=True)


@pytest.fixture
def gypsum(make_user, make_site, db):
    """Two producers' gypsum, two utilisers' needs and an operator, with API tokens."""
    from marketplace.services import listings

    period = {"period_start": today_cst(), "period_end": today_cst() + timedelta(days=30)}
    out = {}
    for name, kind, lat in (("p1", "producer", "38.06"), ("p2", "producer", "38.30"),
                            ("c1", "consumer", "38.10"), ("c2", "consumer", "38.40")):
        user = make_user(kind=kind)
        site = make_site(user.organisation, lat=lat, lon="106.40")
        fields = ({"price_yuan_per_t": "5", "tonnes": 300} if kind == "producer" else {"tonnes": 200})
        out[name] = user
        out[f"{name}_listing"] = listings.create_listing(user, "supply" if kind == "producer" else "demand", {
            "site_id": site.id, "material": "fgd_gypsum", "max_haul_km": 300, **period, **fields})
    out["operator"] = make_user(kind="operator")
    db.session.commit()
    return out


def _token(client, user) -> dict:
    token = client.post("/api/v1/auth/token", json=token_request(user)).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


def _wait(client, headers, round_id: int, until=("done", "failed", "cancelled"), seconds: float = 60) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        body = client.get(f"/api/v1/match-rounds/{round_id}", headers=headers).get_json()
        if body["status"] in until or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def test_a_round_goes_through_the_real_queue_from_queued_to_done(gypsum, real_queue, client, db):
    from marketplace import jobs

    op = _token(client, gypsum["operator"])
    r = client.post("/api/v1/match-rounds", json={}, headers=op)
    assert r.status_code == 202
    queued = r.get_json()
    assert queued["status"] == "queued" and queued["proposals"] == [] and queued["finished"] is False
    # nothing has run it: the request did not wait on the solver
    assert client.get(f"/api/v1/match-rounds/{queued['id']}", headers=op).get_json()["status"] == "queued"
    assert jobs.queue_ready() is True and jobs.queue_depth() == 1
    assert db.session.scalar(select(Proposal.id)) is None
    # a worker takes it from the queue and runs it as the consumer does
    task = real_queue.huey.dequeue()
    assert task is not None and task.id == db.session.get(MatchRound, queued["id"]).job_id
    real_queue.huey.execute(task)
    done = client.get(f"/api/v1/match-rounds/{queued['id']}", headers=op).get_json()
    assert done["status"] == "done" and done["error"] is None
    assert done["building_at"] <= done["solving_at"] <= done["writing_at"] <= done["finished_at"]
    assert done["tonnes_matched"] == 400 and sum(p["tonnes"] for p in done["proposals"]) == 400
    assert done["baseline"] is None  # the greedy comparison only runs when asked for
    assert jobs.queue_depth() == 0


def test_a_round_is_run_by_a_consumer_worker_thread(gypsum, worker, client):
    consumer = _token(client, gypsum["c1"])
    r = client.post("/api/v1/match-rounds", headers=consumer,
                    json={"demand_listing_ids": [gypsum["c1_listing"].id], "compare_greedy": True})
    assert r.status_code == 202 and r.get_json()["status"] == "queued"
    done = _wait(client, consumer, r.get_json()["id"])
    assert done["status"] == "done", done
    assert done["tonnes_matched"] == 200 and done["baseline"] is not None


def test_the_round_page_follows_a_queued_round_and_cancels_it(gypsum, real_queue, client, db):
    from tests.web.conftest import login, post_form

    login(client, gypsum["operator"])
    r = post_form(client, "/match/rounds/new", {"period_start": "", "period_end": ""}, page="/match/rounds/")
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    round_id = db.session.scalar(select(MatchRound.id))
    assert 'data-status="queued"' in page and 'id="cancel-round"' in page and "round_progress.js" in page
    assert 'id="round-progress-data" type="application/json"' in page or \
        'type="application/json" id="round-progress-data"' in page
    status = client.get(f"/match/rounds/{round_id}/status.json").get_json()
    assert status["status"] == "queued" and status["finished"] is False
    r = post_form(client, f"/match/rounds/{round_id}/cancel", {}, page=f"/match/rounds/{round_id}")
    assert r.status_code == 302
    assert client.get(f"/match/rounds/{round_id}/status.json").get_json()["status"] == "cancelled"
    # the queued task was revoked: the worker finds it and does not run it; nothing was written
    assert real_queue.run_pending() == 1
    db.session.rollback()
    assert db.session.get(MatchRound, round_id).status == RoundStatus.CANCELLED
    assert db.session.scalar(select(Proposal.id)) is None
    # a finished round cannot be cancelled again
    r = post_form(client, f"/match/rounds/{round_id}/cancel", {}, page=f"/match/rounds/{round_id}")
    assert r.status_code == 302


def test_a_running_round_stops_at_its_next_phase_boundary(gypsum, real_queue, client, db, monkeypatch):
    from marketplace.services import rounds

    op = _token(client, gypsum["operator"])
    round_id = client.post("/api/v1/match-rounds", json={}, headers=op).get_json()["id"]
    real_solve = rounds.solve_round

    def solve_after_a_cancel(work):
        # someone cancels while the optimiser works (the request is its own transaction)
        answer = client.post(f"/api/v1/match-rounds/{round_id}/cancel", headers=op)
        assert answer.status_code == 200 and answer.get_json()["cancel_requested"] is True
        assert answer.get_json()["status"] == "solving"
        return real_solve(work)

    monkeypatch.setattr(rounds, "solve_round", solve_after_a_cancel)
    assert real_queue.run_pending() == 1
    body = client.get(f"/api/v1/match-rounds/{round_id}", headers=op).get_json()
    assert body["status"] == "cancelled" and body["proposals"] == [] and body["writing_at"] is None
    db.session.rollback()
    assert db.session.scalar(select(Proposal.id)) is None
    again = client.post(f"/api/v1/match-rounds/{round_id}/cancel", headers=op)
    assert again.status_code == 409 and again.get_json()["error"]["field"] == "status"


def test_only_the_starter_or_staff_for_a_market_round_cancels(gypsum, real_queue, client):
    op, c1, c2 = (_token(client, gypsum[k]) for k in ("operator", "c1", "c2"))
    mine = client.post("/api/v1/match-rounds", headers=c1,
                       json={"demand_listing_ids": [gypsum["c1_listing"].id]}).get_json()["id"]
    assert client.post(f"/api/v1/match-rounds/{mine}/cancel", headers=c2).status_code == 404
    assert client.post(f"/api/v1/match-rounds/{mine}/cancel", headers=op).status_code == 403
    assert client.post(f"/api/v1/match-rounds/{mine}/cancel", headers=c1).get_json()["status"] == "cancelled"


def test_a_failed_solve_marks_the_round_failed_with_its_reason(gypsum, real_queue, client, db, monkeypatch):
    from marketplace.services import rounds
    from matching import SolverError

    def no_answer(*args, **kwargs):
        raise SolverError("min-cost flow failed with status INFEASIBLE")

    monkeypatch.setattr(rounds, "solve", no_answer)
    op = _token(client, gypsum["operator"])
    round_id = client.post("/api/v1/match-rounds", json={}, headers=op).get_json()["id"]
    assert real_queue.run_pending() == 1
    body = client.get(f"/api/v1/match-rounds/{round_id}", headers=op).get_json()
    assert body["status"] == "failed" and body["finished_at"] and body["proposals"] == []
    assert body["error"]["code"] == "solver_failed" and body["error"]["message"]
    db.session.rollback()
    assert "INFEASIBLE" in db.session.get(MatchRound, round_id).error_detail
    # people read the reason in their language on the round page
    from tests.web.conftest import login

    login(client, gypsum["operator"])
    page = client.get(f"/match/rounds/{round_id}").get_data(as_text=True)
    assert 'data-code="solver_failed"' in page and 'id="cancel-round"' not in page


def test_an_unexpected_error_fails_the_round_instead_of_leaving_it_running(gypsum, real_queue, client, monkeypatch):
    from marketplace.services import rounds

    monkeypatch.setattr(rounds, "build_instance", lambda *a: 1 / 0)
    op = _token(client, gypsum["operator"])
    round_id = client.post("/api/v1/match-rounds", json={}, headers=op).get_json()["id"]
    assert real_queue.run_pending() == 1
    body = client.get(f"/api/v1/match-rounds/{round_id}", headers=op).get_json()
    assert body["status"] == "failed" and body["error"]["code"] == "internal_error"


def test_a_round_asked_for_in_a_request_that_fails_is_never_queued(gypsum, real_queue, client):
    from marketplace import jobs

    c1 = _token(client, gypsum["c1"])
    r = client.post("/api/v1/match-rounds", headers=c1, json={"demand_listing_ids": [999_999]})
    assert r.status_code in (403, 422)
    assert jobs.queue_depth() == 0


def test_the_worker_command_refuses_immediate_mode(runner):
    result = runner.invoke(args=["jobs", "worker"])
    assert result.exit_code != 0 and "immediate" in result.output


def test_the_scheduled_jobs_are_registered_and_the_checkpoint_job_signs_one(real_queue, db):
    from marketplace import jobs
    from marketplace.models import LedgerCheckpoint

    names = {task.__name__ for task in real_queue.huey._registry._periodic_tasks}
    assert names == {"expire_due", "ledger_checkpoint"}
    checkpoint_id = jobs.ledger_checkpoint()
    db.session.commit()
    assert db.session.get(LedgerCheckpoint, checkpoint_id) is not None


def test_queue_ready_is_false_when_the_queue_cannot_be_reached(app, tmp_path):
    from marketplace import jobs

    saved_url, saved = app.config["JOBS_URL"], app.extensions["jobs"]
    app.config["JOBS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        app.extensions["jobs"] = jobs.Jobs(app)
        assert jobs.queue_ready() is False and jobs.queue_depth() == 0
    finally:
        app.extensions["jobs"], app.config["JOBS_URL"] = saved, saved_url
