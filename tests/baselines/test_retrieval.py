"""Tests of shdd_geo.baselines.retrieval: top-1 within a radius of candidates (brute-force twin)."""

import numpy as np
import pytest

from shdd_geo.baselines.retrieval import check_candidates, top1_near, within_any, gallery_tree
from shdd_geo.coords import latlon_to_xyz
from shdd_geo.metrics import great_circle_km


def _brute(scores, glat, glon, cl, co, r, min_score=-np.inf):
    out = []
    for i in range(cl.shape[0]):
        d = great_circle_km(glat[:, None], glon[:, None], cl[i][None], co[i][None])  # (G, m)
        inside = (d <= r).any(axis=1)
        if not inside.any():
            out.append(-1)
            continue
        s = np.where(inside, scores[i], -np.inf)
        j = int(np.argmax(s))
        out.append(j if s[j] >= min_score else -1)
    return out


def test_top1_near_matches_a_dense_scan():
    rng = np.random.default_rng(0)
    G, n, m = 500, 40, 6
    glat, glon = rng.uniform(-80, 80, G), rng.uniform(-180, 180, G)
    scores = rng.normal(size=(n, G))
    cl, co = rng.uniform(-80, 80, (n, m)), rng.uniform(-180, 180, (n, m))
    gxyz = latlon_to_xyz(glat, glon)
    for r, ms in [(300.0, -np.inf), (900.0, 0.5), (5.0, -np.inf)]:
        got = top1_near(lambda i, idx: scores[i, idx], gxyz, cl, co, r, n_queries=n, min_score=ms)
        assert got.tolist() == _brute(scores, glat, glon, cl, co, r, ms)


def test_ties_go_to_the_lowest_index_and_errors():
    gxyz = latlon_to_xyz([0.0, 0.1, 0.2], [0.0, 0.0, 0.0])
    assert top1_near(lambda i, idx: np.ones(idx.size), gxyz, [[0.1]], [[0.0]], 100.0).tolist() == [0]
    assert within_any(gallery_tree(gxyz), gxyz[2], 1.0).tolist() == [2]
    with pytest.raises(ValueError, match="`radius_km`"):
        top1_near(lambda i, idx: idx, gxyz, [[0.0]], [[0.0]], 0.0)
    with pytest.raises(ValueError, match=r"must have shape \(2, m\)"):
        check_candidates([[0.0]], [[0.0]], n_queries=2)
