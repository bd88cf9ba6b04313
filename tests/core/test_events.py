from tether.events import EventBus


def test_every_subscriber_gets_events_until_it_unsubscribes():
    bus = EventBus()
    seen_a, seen_b = [], []
    stop_a = bus.subscribe(seen_a.append)
    bus.subscribe(seen_b.append)
    bus.publish("state", state="idle")
    stop_a()
    bus.publish("state", state="sweep")
    assert [e["state"] for e in seen_a] == ["idle"]
    assert [e["state"] for e in seen_b] == ["idle", "sweep"]
    assert seen_b[0]["type"] == "state" and seen_b[0]["time"] > 0


def test_a_failing_subscriber_does_not_stop_the_others():
    bus = EventBus()
    seen = []

    def broken(event):
        raise RuntimeError("boom")

    bus.subscribe(broken)
    bus.subscribe(seen.append)
    bus.publish("progress", done=1, total=2)
    assert seen and seen[0]["done"] == 1
