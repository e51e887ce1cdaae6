"""The shipped example definitions load and behave as documented."""

from __future__ import annotations

from pathlib import Path

from tauro_streaming.domain import DeadLetter, Output, StreamPipeline, load_definition, load_definitions

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "streams"


def test_both_example_pipelines_load() -> None:
    definitions = load_definitions(EXAMPLES / "streaming.yaml")
    assert set(definitions) == {"events_processor", "events_per_user"}
    assert definitions["events_processor"].input_topics == ("tauro.examples.events",)
    assert definitions["events_processor"].output_topic == "tauro.examples.events.clean"
    assert definitions["events_per_user"].output_topic == "tauro.examples.events.per_user"


def test_events_processor() -> None:
    p = StreamPipeline(load_definition(EXAMPLES, "streaming.yaml", "events_processor"))
    [out] = p.process(
        {
            "event_id": "e1",
            "user_id": "U42",
            "event_type": "click",
            "amount": 1.5,
            "ts": "2025-01-26T10:00:00Z",
            "debug": {"x": 1},
        },
        0,
    )
    assert isinstance(out, Output) and out.key == "u42"
    assert out.value == {
        "event_id": "e1",
        "user_id": "u42",
        "type": "click",
        "amount": 1.5,
        "ts": "2025-01-26T10:00:00Z",
        "source": "tauro.examples",
        "amount_cents": 150.0,
    }
    assert p.process({"user_id": "U1", "event_type": "view", "amount": 1}, 0) == []
    [dead] = p.process({"user_id": "U1", "event_type": "click"}, 0)
    assert isinstance(dead, DeadLetter) and "amount" in dead.reason


def test_events_per_user_counts_per_ten_seconds() -> None:
    p = StreamPipeline(load_definition(EXAMPLES, "streaming.yaml", "events_per_user"))
    results = []
    for user, second in [("a", 1), ("b", 2), ("a", 9), ("a", 11), ("b", 12), ("a", 30)]:
        results += p.process({"user_id": user, "ts": f"2025-01-26T10:00:{second:02d}Z"}, 0)
    results += p.flush()
    counts = [
        (r.key, r.value["window_start"][11:19], r.value["events"]) for r in results if isinstance(r, Output)
    ]
    assert counts == [
        ("a", "10:00:00", 2),
        ("b", "10:00:00", 1),
        ("a", "10:00:10", 1),
        ("b", "10:00:10", 1),
        ("a", "10:00:30", 1),
    ]
