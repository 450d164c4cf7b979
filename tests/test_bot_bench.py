"""The bot bench's headline: the median of the rounds, and of two rounds their mean (it once took
the better of two, which flattered both the cold and the warm figure)."""

from __future__ import annotations

import pytest

from bench.bot_bench import median


def test_the_headline_of_two_rounds_is_their_mean_not_the_better_one():
    assert median([0.66, 0.49]) == pytest.approx(0.575)
    assert median([0.49, 0.66]) == pytest.approx(0.575)
    assert median([0.51, 0.60, 0.58]) == 0.58
