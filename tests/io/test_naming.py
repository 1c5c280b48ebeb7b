"""shdd_geo.io.naming: output file names that never collide (issue 28 item 1)."""

from __future__ import annotations

import pytest

from shdd_geo.io.naming import MAX_STEM, check_name, output_stem, output_stems, stem_matches


def test_the_issue_example_gets_four_files():
    names = ["Paris", "Paris!", "Paris, Texas", "Paris Texas"]
    stems = output_stems(names)
    assert stems[0] == "Paris" and len(set(stems)) == 4
    assert all(stem_matches(s, n) for s, n in zip(stems, names))
    assert not stem_matches(stems[1], "Paris") and not stem_matches(stems[2], "Paris Texas")


@pytest.mark.parametrize("names", [["St. Louis", "St Louis", "St/Louis", "St_Louis", "st louis"],
                                   ["Paris", "PARIS", "paris"], ["Zürich", "Zurich", "Zu\u0308rich"],
                                   ["a" * 100 + "x", "a" * 100 + "y", "a" * 80, "a" * 81]])
def test_distinct_names_get_distinct_stems_even_ignoring_case(names):
    stems = output_stems(names)
    assert len({s.casefold() for s in stems}) == len(names)
    assert all(0 < len(s) <= MAX_STEM and "/" not in s and not s.startswith(".") for s in stems)


def test_a_name_that_looks_hashed_is_hashed_too():
    clash = output_stem("Paris!")  # a literal name equal to another name's stem
    assert output_stem(clash) != clash and len({output_stem(clash), clash}) == 2


def test_same_name_twice_is_one_output():
    assert output_stems(["Lyon", "Lyon"]) == ["Lyon", "Lyon"]


@pytest.mark.parametrize("bad, match", [("", "empty"), ("   ", "empty"), ("\t\n", "empty"), ("..", "letter or digit"),
                                        ("/", "letter or digit"), ("!?", "letter or digit")])
def test_names_that_name_nothing_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        output_stems(["Kyoto", bad])
    with pytest.raises(ValueError, match="name 3"):
        check_name(bad, "name 3")
    with pytest.raises(TypeError, match="must be a str"):
        check_name(3)
