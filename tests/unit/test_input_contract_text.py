"""The pieces under the input contract, on plain data: text normalisation and blankness
(server.engine.text), answers built on it, the depth-capped JSON reader and the declared
shapes (server.engine.shapes), and how a Socket.IO frame is decoded (server.realtime.frames).
"""

from __future__ import annotations

import time
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from socketio import packet

from server.engine import MendError, answers, text
from server.engine.shapes import MAX_DEPTH, Id, Json, Obj, Text, parse_json
from server.realtime.frames import MALFORMED, MendPacket

TEXT_STEP = {"type": "text", "max_length": 100}
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e", "\u202e",
             "\u2066", "\u3164", "\u115f", "\ufe0f", "\u034f", "\u180e", "\u2800", "\u3000",
             "\u00a0", "\t\n\r "]


@pytest.mark.parametrize("invisible", INVISIBLE)
def test_invisible_characters_alone_are_blank(invisible):
    assert text.is_blank(invisible * 3)
    assert text.clean(invisible * 3) == ""
    assert text.trim(invisible * 3) == ""


@pytest.mark.parametrize("edge", ["\u200b", "\u200d", "\ufeff", "\u2060", " \u00a0\n"])
def test_trim_takes_whitespace_and_zero_width_characters_off_the_ends(edge):
    assert text.trim(f"{edge}words{edge}") == "words"


@pytest.mark.parametrize("visible", ["a", "\u00e9", "\U0001f469\u200d\u2764\ufe0f\u200d"
                                     "\U0001f468", "\u0301", ".", "\u4e2d"])
def test_anything_visible_is_not_blank(visible):
    assert not text.is_blank(f"\u200b {visible} \u200b")


def test_trim_keeps_what_is_between_the_ends():
    family = "\U0001f469\u200d\U0001f467"
    assert text.trim(f"\u200b  {family} and me \ufeff\n") == f"{family} and me"


@pytest.mark.parametrize("bad", ["a\x00b", "\x00", "a\ud800b", "\udfff", "\ud83d"])
def test_nul_and_lone_surrogates_are_invalid(bad):
    assert not text.storable(bad)
    with pytest.raises(MendError) as error:
        text.normalise(bad)
    assert error.value.code == "invalid"


def test_a_surrogate_pair_decoded_is_one_character_and_fine():
    assert text.normalise("\U0001f600") == "\U0001f600"


def test_text_is_normalised_to_nfc():
    assert text.normalise("Cafe\u0301") == "Caf\u00e9"
    assert text.normalise("\u212b") == "\u00c5"  # the Angstrom sign


@settings(max_examples=300)
@given(st.text(alphabet=st.characters(codec=None), max_size=20))
def test_clean_either_refuses_or_gives_storable_nfc_that_is_empty_exactly_when_blank(value):
    try:
        cleaned = text.clean(value)
    except MendError as error:
        assert error.code == "invalid" and not text.storable(value)
        return
    assert text.storable(cleaned) and unicodedata.is_normalized("NFC", cleaned)
    assert (cleaned == "") == text.is_blank(value)


def test_answers_of_only_invisible_characters_are_refused_and_drafts_of_them_are_blank():
    with pytest.raises(MendError) as error:
        answers.validate_answer(TEXT_STEP, "\u200b\u200d\ufeff", None)
    assert error.value.code == "invalid"
    assert answers.validate_answer(TEXT_STEP, "\u200b", None, draft=True) == ("", None)
    assert answers.is_blank("\u200b\u2060", None)
    assert answers.is_blank(None, {"high": "\u200b", "low": None, "items": []})
    assert not answers.is_blank(None, {"value": 3})
    assert answers.validate_answer(TEXT_STEP, "Cafe\u0301", None) == ("Caf\u00e9", None)
    with pytest.raises(MendError):
        answers.validate_answer(TEXT_STEP, "a\x00", None)


# --- JSON with a depth cap ---------------------------------------------------------------

def test_json_up_to_the_cap_is_read_and_deeper_is_refused():
    assert parse_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(ValueError):
        parse_json("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    # Brackets inside strings are text, not nesting.
    assert parse_json('{"a": "' + "[" * 5000 + '"}') == {"a": "[" * 5000}


def test_a_hundred_thousand_levels_are_refused_quickly_without_recursion():
    started = time.perf_counter()
    for raw in ("[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000,
                ("[" * 100_000).encode()):
        with pytest.raises(ValueError):
            parse_json(raw)
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize("raw", ["NaN", "[Infinity]", '{"a": -Infinity}', "1e999",
                                 "1" * 40, "\xff", b"\xff\xfe", "{", ""])
def test_what_json_or_a_database_cannot_hold_is_refused(raw):
    with pytest.raises(ValueError):
        parse_json(raw)


# --- declared shapes ---------------------------------------------------------------------

SHAPE = Obj({"session_id": Id(), "client_id": Id(8, 64), "body?": Text(50).or_null(),
             "fields?": Json(max_depth=2).or_null()})
GOOD = {"session_id": "s1", "client_id": "abcdefgh"}


@pytest.mark.parametrize("payload, code", [
    ({}, "invalid"),
    ({**GOOD, "other": 1}, "invalid"),
    ({**GOOD, "session_id": 5}, "invalid"),
    ({**GOOD, "client_id": " " * 8}, "invalid"),
    ({**GOOD, "client_id": "\u200b" * 8}, "invalid"),
    ({**GOOD, "session_id": None}, "invalid"),
    ({**GOOD, "body": "x" * 51}, "too_large"),
    ({**GOOD, "body": "a\x00"}, "invalid"),
    ({**GOOD, "fields": {"a": {"b": {"c": 1}}}}, "invalid"),
    ({**GOOD, "fields": {"a": "\ud800"}}, "invalid"),
    ({**GOOD, "fields": {"\x00": 1}}, "invalid"),
    ({**GOOD, "fields": {"a": float("nan")}}, "invalid"),
    ({**GOOD, "fields": {"a": b"bytes"}}, "invalid"),
    ([GOOD], "invalid"),
])
def test_a_payload_that_does_not_fit_its_declaration_is_refused(payload, code):
    with pytest.raises(MendError) as error:
        SHAPE.clean(payload)
    assert error.value.code == code and error.value.message


def test_a_payload_that_fits_comes_back_cleaned():
    cleaned = SHAPE.clean({**GOOD, "body": "\u200b\u200b", "fields": {"x": ["Cafe\u0301"]}})
    assert cleaned == {**GOOD, "body": "", "fields": {"x": ["Caf\u00e9"]}}
    assert SHAPE.clean({**GOOD, "body": None}) == {**GOOD, "body": None}


def test_a_hostile_key_is_not_repeated_in_the_message():
    with pytest.raises(MendError) as error:
        SHAPE.clean({**GOOD, "secret words " * 10: 1})
    assert "secret" not in error.value.message


# --- Socket.IO frames --------------------------------------------------------------------

def decode(encoded: str) -> MendPacket:
    return MendPacket(encoded_packet=encoded)


def test_a_well_formed_event_decodes_as_usual():
    pkt = decode('27["entry:draft",{"a":1}]')
    assert (pkt.packet_type, pkt.id, pkt.data) == (packet.EVENT, 7, ["entry:draft", {"a": 1}])


@pytest.mark.parametrize("body", ["[" * 1000 + "]" * 1000, '["x",' + "[" * 1000 + "]" * 1000
                                  + "]", "not json", "{}", "[]", "[1]", '["disconnect"]',
                                  '["connect",{}]', '["*"]', '["x",NaN]'])
def test_a_frame_that_is_not_an_event_becomes_malformed_and_keeps_its_ack_id(body):
    pkt = decode("2" + "42" + body)
    assert pkt.packet_type == packet.EVENT and pkt.id == 42 and pkt.data == [MALFORMED]


def test_unreadable_connect_data_connects_without_it():
    assert decode("0" + "[" * 1000).data is None
    assert decode('0{"token":"x"}').data == {"token": "x"}


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20))
def test_what_the_server_sends_decodes_to_exactly_what_it_sent(value):
    # Pushes are encoded by orjson (frames._CappedJson.dumps): every text, emoji and
    # astral character included, the client must read back the same data.
    sent = MendPacket(packet.EVENT, data=["session:state", value], id=3).encode()
    assert decode(sent).data == ["session:state", value]
