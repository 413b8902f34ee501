"""/rest/v1 under parallel load: 50 concurrent clients, every answer a success."""

from __future__ import annotations

import asyncio

import httpx


def test_fifty_concurrent_clients_read_and_write_without_errors(gateway):
    headers = {
        "apikey": gateway.anon_key,
        "Accept-Profile": "rest_conformance",
        "Content-Profile": "rest_conformance",
    }
    base = f"{gateway.url}/rest/v1"

    async def client(i: int) -> list[tuple[int, object]]:
        out = []
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
            for j in range(4):
                r = await http.get("/authors", params={"id": "gt.1", "order": "id"})
                out.append((r.status_code, len(r.json())))
                r = await http.get("/rpc/add", params={"a": i, "b": j})
                out.append((r.status_code, r.json() == i + j))
                r = await http.post("/rpc/add_note", json={"body": f"load-{i}-{j}"})
                out.append((r.status_code, r.json()))
        return out

    async def main():
        return await asyncio.gather(*(client(i) for i in range(50)))

    results = [item for per_client in asyncio.run(main()) for item in per_client]
    assert {status for status, _ in results} == {200}
    reads = [value for status, value in results[0::3]]
    assert set(reads) == {3}
    assert all(value is True for _, value in results[1::3])
    note_ids = [value for _, value in results[2::3]]
    assert len(set(note_ids)) == 200  # every write committed, once
