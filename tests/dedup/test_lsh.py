from __future__ import annotations

import pytest
from datasketch.lsh import _optimal_param

from sciforge.pipelines.dedup.lsh import collision_probability, describe, optimal_params


@pytest.mark.parametrize("threshold,num_perm", [(0.8, 128), (0.5, 64), (0.9, 32), (0.7, 128)])
def test_same_bands_rows_as_datasketch(threshold: float, num_perm: int) -> None:
    assert optimal_params(threshold, num_perm) == _optimal_param(threshold, num_perm, 0.5, 0.5)


def test_weights_shift_the_choice() -> None:
    fp_averse = optimal_params(0.8, 128, 0.9, 0.1)
    fn_averse = optimal_params(0.8, 128, 0.1, 0.9)
    b1, r1 = fp_averse
    b2, r2 = fn_averse
    assert collision_probability(0.7, b1, r1) < collision_probability(0.7, b2, r2)


def test_describe_prints_s_curve() -> None:
    text = describe(0.8, 9, 13)
    assert "9 bands x 13 rows" in text and "J=0.80" in text


def test_bad_threshold() -> None:
    with pytest.raises(ValueError):
        optimal_params(1.5, 128)
