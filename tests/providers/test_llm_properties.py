"""Property-based tests (hypothesis) of how LLMProvider reads answers and builds prompts."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from zeromatch_sk.providers._llm import _class_patterns, _mentions, parse_answer

# Kept fast for the normal suite; 3,000 examples per property also passed when they were written.
SETTINGS = settings(max_examples=150, deadline=None)

# Class names as users write them: words, spaces, '_', '-', '/', digits, some non-ASCII.
name_text = st.text(
    alphabet=st.sampled_from(list("abcxyzABCXYZéßİı019 _-/.&")), min_size=1, max_size=12
).filter(lambda n: n.strip())


def valid_names(names):
    """Whether the names are accepted (distinct once case and separators are ignored)."""
    try:
        _class_patterns(names)
    except ValueError:
        return False
    return True


names_lists = st.lists(name_text, min_size=1, max_size=6).filter(valid_names)


@SETTINGS
@given(answer=st.text(max_size=200), names=names_lists)
def test_parse_answer_never_raises_and_returns_an_index_or_none(answer, names):
    found = parse_answer(answer, names)
    assert found is None or (isinstance(found, int) and 0 <= found < len(names))


@SETTINGS
@given(names=names_lists, data=st.data())
def test_an_answer_that_is_exactly_a_class_name_finds_that_class(names, data):
    j = data.draw(st.integers(0, len(names) - 1))
    assert parse_answer(names[j], names) == j
    # Surrounding whitespace and a full stop do not change it.
    assert parse_answer(f"  {names[j]}\n", names) == j
    if not names[j].rstrip().endswith((".", "_", "-")) and not any(n.strip().startswith(".") for n in names):
        assert parse_answer(names[j] + ".", names) == j


@SETTINGS
@given(names=names_lists.filter(lambda ns: all(n.isascii() for n in ns)), data=st.data())
def test_matching_ignores_case_for_ascii_names(names, data):
    j = data.draw(st.integers(0, len(names) - 1))
    assert parse_answer(names[j].upper(), names) == j
    assert parse_answer(names[j].lower(), names) == j


@SETTINGS
@given(answer=st.text(max_size=120), names=names_lists, data=st.data())
def test_the_result_does_not_depend_on_the_order_of_the_classes(answer, names, data):
    order = data.draw(st.permutations(range(len(names))))
    shuffled = [names[i] for i in order]
    found, found_shuffled = parse_answer(answer, names), parse_answer(answer, shuffled)
    if found is None:
        assert found_shuffled is None
    else:
        assert order[found_shuffled] == found


@SETTINGS
@given(answer=st.text(max_size=120), names=names_lists)
def test_the_class_found_is_named_in_the_answer_and_none_is_named_earlier(answer, names):
    found = parse_answer(answer, names)
    patterns = _class_patterns(names)
    hits = [(m.start(), j) for j, p in enumerate(patterns) for m in p.finditer(answer)]
    if found is None:
        assert not hits
    else:
        first = min(start for start, _ in hits)
        assert any(start == first and j == found for start, j in hits)


@SETTINGS
@given(answer=st.text(max_size=120), names=names_lists)
def test_mentions_do_not_overlap_and_run_left_to_right(answer, names):
    spans = _mentions(answer, _class_patterns(names))
    for (s0, e0, _), (s1, _e1, _) in itertools.pairwise(spans):
        assert s0 < e0 <= s1


@SETTINGS
@given(
    word=st.from_regex(re.compile(r"[a-z0-9]{1,8}"), fullmatch=True),
    names=st.lists(st.from_regex(re.compile(r"[a-z]{3,8}"), fullmatch=True), min_size=1, max_size=4).filter(
        valid_names
    ),
    data=st.data(),
)
def test_a_name_inside_a_longer_word_is_not_a_mention(word, names, data):
    # "sportsmanship" does not name "sports": glue letters or digits to a name.
    j = data.draw(st.integers(0, len(names) - 1))
    glued = data.draw(st.sampled_from([word + names[j], names[j] + word, word + names[j] + word]))
    others = [n for k, n in enumerate(names) if k != j]
    assume(not any(re.search(rf"(?<![a-z0-9]){o}(?![a-z0-9])", glued) for o in others))
    assert parse_answer(glued, names) is None


@pytest.mark.parametrize("names", [["x", "x-"], ["a b", "a_b"], ["World", "world"], ["_x", "X"], ["--", "y"]])
def test_names_that_answers_cannot_tell_apart_are_refused(names):
    with pytest.raises(ValueError, match="class_names"):
        parse_answer("x", names)
