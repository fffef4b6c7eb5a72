from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from loadgen.sse import SSEEvent, SSEParser


def feed_all(parts: list[bytes]) -> tuple[list[SSEEvent], SSEParser]:
    parser = SSEParser()
    events: list[SSEEvent] = []
    for part in parts:
        events.extend(parser.feed(part))
    return events, parser


VLLM_STREAM = (
    b'data: {"choices":[{"text":"Hel"}]}\n\n'
    b": keep-alive\n\n"
    b'data: {"choices":[{"text":"lo"}]}\n\n'
    b"\n"
    b'data: {"choices":[],"usage":{"completion_tokens":2}}\n\n'
    b"data: [DONE]\n\n"
)
VLLM_EVENTS = [
    '{"choices":[{"text":"Hel"}]}',
    '{"choices":[{"text":"lo"}]}',
    '{"choices":[],"usage":{"completion_tokens":2}}',
    "[DONE]",
]


def test_whole_stream_yields_every_data_payload_and_counts_comments() -> None:
    events, parser = feed_all([VLLM_STREAM])
    assert [e.data for e in events] == VLLM_EVENTS
    assert parser.comments == 1
    assert not parser.has_partial_event


def test_byte_at_a_time_gives_the_same_events() -> None:
    events, _ = feed_all([VLLM_STREAM[i : i + 1] for i in range(len(VLLM_STREAM))])
    assert [e.data for e in events] == VLLM_EVENTS


@given(st.lists(st.integers(min_value=0, max_value=len(VLLM_STREAM)), max_size=12))
def test_any_split_points_give_the_same_events(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(VLLM_STREAM)]
    parts = [VLLM_STREAM[a:b] for a, b in pairwise(bounds)]
    events, _ = feed_all(parts)
    assert [e.data for e in events] == VLLM_EVENTS


@given(st.lists(st.integers(min_value=0, max_value=200), max_size=10))
def test_crlf_and_cr_line_endings_split_anywhere(cuts: list[int]) -> None:
    stream = VLLM_STREAM.replace(b"\n", b"\r\n")
    stream = stream[: len(stream) // 2] + stream[len(stream) // 2 :].replace(b"\r\n", b"\r")
    bounds = [0, *sorted(min(c, len(stream)) for c in cuts), len(stream)]
    events, parser = feed_all([stream[a:b] for a, b in pairwise(bounds)])
    assert [e.data for e in events] == VLLM_EVENTS
    assert parser.comments == 1


def test_crlf_split_between_cr_and_lf_is_one_line_end_not_two() -> None:
    # A naive parser sees "\r" then "\n" as two line ends -> a blank line dispatching a half-built event.
    events, _ = feed_all([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"])
    assert [e.data for e in events] == ["a\nb"]


def test_multi_line_data_is_joined_with_newlines_and_event_field_kept() -> None:
    events, _ = feed_all([b"event: note\ndata: first\ndata:second\nid: 7\nretry: 10\n\n"])
    assert events == [SSEEvent("first\nsecond", "note")]


def test_blank_keep_alives_and_comment_only_blocks_dispatch_nothing() -> None:
    events, parser = feed_all([b"\n\n\n: ping\n\n:\n\n"])
    assert events == []
    assert parser.comments == 2


def test_unterminated_event_is_not_dispatched_and_reported_partial() -> None:
    events, parser = feed_all([b'data: {"choices":[{"text":"x"}]}\n\ndata: [DONE]\n'])
    assert [e.data for e in events] == ['{"choices":[{"text":"x"}]}']
    assert parser.has_partial_event


def test_utf8_sequence_split_across_reads_decodes_intact() -> None:
    payload = 'data: {"text":"héllo ✓"}\n\n'.encode()
    split = payload.index("✓".encode()) + 1
    events, _ = feed_all([payload[:split], payload[split:]])
    assert events[0].data == '{"text":"héllo ✓"}'


def test_data_field_without_space_and_value_with_colons() -> None:
    events, _ = feed_all([b"data:a:b: c\n\n"])
    assert events[0].data == "a:b: c"


def test_data_lines_with_and_without_the_space_after_the_colon_parse_alike() -> None:
    # "data: x" takes a fast path; "data:x", "data:  x" (one space kept) and "data" (empty) the general one.
    parser = SSEParser()
    events = parser.feed(b"data: a\ndata:b\ndata:  c\ndata\n\n")
    assert [e.data for e in events] == ["a\nb\n c\n"]
    split = SSEParser()
    raw = b'data: {"x": "\xc3\xa9"}\n\n'
    assert [e.data for i in range(len(raw)) for e in split.feed(raw[i : i + 1])] == ['{"x": "é"}']


def test_feed_data_matches_feed_on_whole_and_split_events() -> None:
    raw = b'data: {"a": 1}\n\ndata: {"b": 2}\n\n: ping\n\ndata: x\r\n\r\ndata: [DONE]\n\n'
    pieces = [b'data: {"a": 1}\n\n', b'data: {"b": 2}\n\n', b": ping\n\n", b"data: x\r\n\r\n", b"data: [DONE]\n\n"]
    for parts in ([raw], pieces, [raw[i : i + 3] for i in range(0, len(raw), 3)]):
        fast, slow = SSEParser(), SSEParser()
        got = [data for part in parts for data in fast.feed_data(part)]
        assert got == [e.data for part in parts for e in slow.feed(part)] == ['{"a": 1}', '{"b": 2}', "x", "[DONE]"]
    # A whole event right after a pending partial line is not taken on the fast path.
    parser = SSEParser()
    assert parser.feed_data(b"data: par") == []
    assert parser.feed_data(b"data: t\n\n") == ["pardata: t"]
