import pytest

from server.engine import MendError
from server.engine.answers import MAX_TEXT_LENGTH, is_blank, validate_answer

TEXT = {"type": "text", "max_length": 50}
SCALE = {"type": "scale", "min": 1, "max": 10}
CHOICES = {"type": "choices", "options": ["a", "b", "c"], "multiple": True}
ONE_CHOICE = {"type": "choices", "options": ["a", "b"], "multiple": False}


def code_of(spec, body=None, fields=None, draft=False):
    with pytest.raises(MendError) as error:
        validate_answer(spec, body, fields, draft=draft)
    return error.value.code


def test_text_answers_are_kept_exactly():
    assert validate_answer(TEXT, "  hello\n", None) == ("  hello\n", None)


def test_empty_text_cannot_be_submitted_but_can_be_drafted():
    assert code_of(TEXT, "   ") == "invalid"
    assert validate_answer(TEXT, "", None, draft=True) == ("", None)


def test_text_over_the_step_limit_is_too_large():
    assert code_of(TEXT, "x" * 51) == "too_large"


def test_no_step_can_raise_the_hard_text_ceiling():
    spec = {"type": "text", "max_length": 10 * MAX_TEXT_LENGTH}
    assert code_of(spec, "x" * (MAX_TEXT_LENGTH + 1)) == "too_large"


@pytest.mark.parametrize("fields", [{"value": 0}, {"value": 11}, {"value": "5"},
                                    {"value": True}, {"value": 5.5}, {}, None])
def test_scale_needs_a_whole_number_in_range(fields):
    assert code_of(SCALE, None, fields) == "invalid"


def test_scale_accepts_its_bounds():
    assert validate_answer(SCALE, None, {"value": 10}) == (None, {"value": 10})


def test_choices_keep_the_tracks_order():
    answer = validate_answer(CHOICES, None, {"choices": ["c", "a"]})
    assert answer == (None, {"choices": ["a", "c"]})


@pytest.mark.parametrize("fields", [{"choices": ["d"]}, {"choices": ["a", "a"]},
                                    {"choices": []}, {"choices": "a"}, {"choices": [1]}])
def test_choices_must_be_offered_unique_and_present(fields):
    assert code_of(CHOICES, None, fields) == "invalid"


def test_single_choice_steps_take_one_option():
    assert code_of(ONE_CHOICE, None, {"choices": ["a", "b"]}) == "invalid"


def test_answers_go_in_the_right_field():
    assert code_of(TEXT, None, {"value": 3}) == "invalid"
    assert code_of(SCALE, "seven", {"value": 7}) == "invalid"


def test_blank_drafts():
    assert is_blank("  ", None) and is_blank(None, {"choices": []})
    assert not is_blank("x", None) and not is_blank(None, {"value": 1})
