"""The newsletter benchmark's function works end to end at a small size (timing is only
reported by `flagship bench newsletter`, never asserted)."""

from __future__ import annotations

from flagship.bench.newsletter import send_newsletter


def test_send_newsletter_delivers_every_chunk(events_db):
    admin_url, app_url = events_db
    result = send_newsletter(admin_url, app_url, 250)
    assert result["delivered"] == 250
    assert result["batches"] == 3  # chunks of 100
    assert result["statuses"] == {"sent": 250}
    assert len(result["chunk_ms"]) == 3 and result["total_s"] > 0
