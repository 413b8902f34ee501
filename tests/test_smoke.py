def test_db(db):
    assert db.execute("select 1 as x").fetchone()["x"] == 1
