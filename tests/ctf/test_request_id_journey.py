"""One request id from the client to the worker: X-Request-Id accepted (or minted) by the
gateway, the same id on the response, in `request.headers` (ops.audit_log rows, the outbox
job the request queued) and in every worker log line about that job."""

from __future__ import annotations

import json
import logging

import httpx
from ctfkit import build_scene

from flagship.database import connect
from flagship.tokens import mint_for_user
from sync.worker import Worker


def test_request_id_from_client_to_worker_logs(served, caplog):
    admin, app, gw = served
    with connect(admin) as db:
        s = build_scene(db)
        db.commit()
    _, player = mint_for_user(admin, str(s.player.id))
    _, organiser = mint_for_user(admin, str(s.organiser.id))
    rest = f"{gw.url}/rest/v1/rpc"

    with httpx.Client(headers={"apikey": gw.anon_key}, timeout=10) as http:
        # 1. the client's id: a correct flag queues ctf.solve in the request's transaction
        solved = http.post(
            f"{rest}/ctf_submit",
            json={"p_challenge_id": s.challenge, "p_flag": "flag{one}"},
            headers={"Authorization": f"Bearer {player}", "X-Request-Id": "journey-0001"},
        )
        assert solved.status_code == 200, solved.text
        assert solved.json()["status"] == "correct"
        assert solved.headers["x-request-id"] == "journey-0001"
        # 2. no id sent: the gateway mints one; the audit row of the award carries it
        award = http.post(
            f"{rest}/ctf_grant_award",
            json={"p_event_id": s.event, "p_team_id": s.team_b, "p_value": 5, "p_reason": "x"},
            headers={"Authorization": f"Bearer {organiser}"},
        )
        assert award.status_code == 200, award.text
        minted = award.headers["x-request-id"]
        assert minted and minted != "journey-0001"
        # 3. an unusable id (too long) is replaced, never stored
        odd = http.post(
            f"{rest}/ctf_grant_award",
            json={"p_event_id": s.event, "p_team_id": s.team_b, "p_value": 1, "p_reason": "y"},
            headers={"Authorization": f"Bearer {organiser}", "X-Request-Id": "x" * 65},
        )
        assert odd.status_code == 200 and odd.headers["x-request-id"] != "x" * 65
        # 4. the edge behind the gateway answers with the gateway's id, not a second one
        edge = http.get(
            f"{gw.url}/functions/v1/me",
            headers={"Authorization": f"Bearer {player}", "X-Request-Id": "journey-0002"},
        )
        assert edge.status_code == 200 and edge.headers["x-request-id"] == "journey-0002"
        edge_minted = http.get(f"{gw.url}/functions/v1/health")
        assert len(edge_minted.headers.get_list("x-request-id")) == 1

    with connect(admin) as db:
        job = db.execute(
            "select id, request_id from ops.outbox where topic = 'ctf.solve'"
        ).fetchone()
        assert job["request_id"] == "journey-0001"
        audits = db.execute(
            "select request_id from ops.audit_log where action = 'ctf.award_granted' order by id"
        ).fetchall()
        assert [a["request_id"] for a in audits] == [minted, odd.headers["x-request-id"]]
        db.execute("update ops.outbox set status = 'done' where topic <> 'ctf.solve'")
        db.commit()

    seen = []
    with (
        caplog.at_level(logging.INFO, logger="sync.worker"),
        Worker(app, handlers={"ctf.solve": seen.append}) as worker,
    ):
        worker.run_once()
    assert [j.request_id for j in seen] == ["journey-0001"]
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "sync.worker"]
    delivered = [ln for ln in lines if ln["event"] == "job delivered"]
    assert delivered and all(ln["request_id"] == "journey-0001" for ln in delivered)
    assert delivered[0]["job_id"] == job["id"] and delivered[0]["topic"] == "ctf.solve"
