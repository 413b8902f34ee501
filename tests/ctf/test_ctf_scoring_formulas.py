"""Dynamic values pinned to the reference implementations.

CTFd, CTFd/plugins/dynamic_challenges/decay.py (solve_count excludes the first solver):
  linear:      value = ceil(initial - decay * solve_count), floored at minimum
  logarithmic: value = ceil(((minimum - initial) / decay**2) * solve_count**2 + initial),
               floored at minimum (decay 0 is treated as 1)
rCTF, server/util/scores.ts getScore(rl, rh, maxSolves, solves):
  a(x) = (1 - tanh(x)) / 2;  b(x) = (a((c1 - c0) x + c0) - a(c1)) / (a(c0) - a(c1)),
  c0 = -atanh(0.7), c1 = atanh(0.96);  s = max(1, maxSolves);  f(x) = rl + (rh - rl) b(x / s)
  value = Math.round(max(f(solves), f(s)))
The Python below transcribes those formulas; the SQL must agree for every parameter set.
"""

from __future__ import annotations

import math

import pytest


def ctfd_linear(initial, minimum, decay, solves):
    solve_count = solves - 1 if solves != 0 else 0
    value = math.ceil(initial - (decay * solve_count))
    return max(value, minimum)


def ctfd_logarithmic(initial, minimum, decay, solves):
    solve_count = solves - 1 if solves != 0 else 0
    if decay == 0:
        decay = 1
    value = (((minimum - initial) / (decay**2)) * (solve_count**2)) + initial
    value = math.ceil(value)
    return max(value, minimum)


def rctf(initial, minimum, decay, solves):
    p0, p1 = 0.7, 0.96
    c0, c1 = -math.atanh(p0), math.atanh(p1)

    def a(x):
        return (1 - math.tanh(x)) / 2

    def b(x):
        return (a((c1 - c0) * x + c0) - a(c1)) / (a(c0) - a(c1))

    s = max(1, decay)

    def f(x):
        return minimum + (initial - minimum) * b(x / s)

    return math.floor(max(f(solves), f(s)) + 0.5)


PARAMS = [
    (500, 100, 15),
    (1000, 50, 30),
    (100, 10, 3),
    (300, 300, 5),
    (497, 61, 37),
    (1000, 0, 1),
    (250, 25, 0),
]
SOLVES = [0, 1, 2, 3, 5, 8, 13, 14, 15, 16, 29, 30, 31, 50, 100, 500]


@pytest.mark.parametrize(("initial", "minimum", "decay"), PARAMS)
@pytest.mark.parametrize(
    ("kind", "reference"),
    [("linear", ctfd_linear), ("logarithmic", ctfd_logarithmic), ("rctf", rctf)],
)
def test_values_match_reference(db, kind, reference, initial, minimum, decay):
    rows = db.execute(
        "select n, private.ctf_value(%s::ctf.scoring, %s, %s, %s, n) as v"
        " from unnest(%s::int[]) as n",
        (kind, initial, minimum, decay, SOLVES),
    ).fetchall()
    got = {r["n"]: r["v"] for r in rows}
    want = {n: reference(initial, minimum, decay, n) for n in SOLVES}
    assert got == want


def test_known_values(db):
    # Hand-checked points of CTFd's logarithmic curve (initial 500, minimum 100, decay 15):
    # the 1st solver gets 500, the 16th reaches the minimum.
    v = lambda kind, n: db.execute(  # noqa: E731
        "select private.ctf_value(%s::ctf.scoring, 500, 100, 15, %s) as v", (kind, n)
    ).fetchone()["v"]
    assert v("logarithmic", 1) == 500
    assert v("logarithmic", 2) == 499  # ceil(500 - 400/225)
    assert v("logarithmic", 16) == 100
    assert v("linear", 1) == 500
    assert v("linear", 2) == 485
    assert v("static", 99) == 500
    assert v("rctf", 0) == 500


def test_first_blood_points(db):
    p = lambda value, rank: db.execute(  # noqa: E731
        "select private.ctf_points(%s, %s, '{1.05,1.03,1.01}') as p", (value, rank)
    ).fetchone()["p"]
    assert [p(100, 1), p(100, 2), p(100, 3), p(100, 4), p(100, None)] == [105, 103, 101, 100, 100]
    assert p(487, 1) == 511  # round(511.35)
