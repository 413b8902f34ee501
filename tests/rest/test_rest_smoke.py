def test_smoke(rest):
    r = rest.get("/authors", params={"select": "id,name", "order": "id"})
    print(r.status_code, r.text, r.headers)
    assert r.status_code == 200
