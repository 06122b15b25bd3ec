"""The emulator's collector policy: survivors of a full pass are frozen; garbage is still freed."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def run(code: str) -> dict:
    # A fresh interpreter: freezing is for the whole process.
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def test_survivors_of_a_full_pass_are_frozen_and_later_garbage_is_still_freed():
    result = run("""
        import gc, json, time, weakref
        from barometer_local.emulator_gc import freeze_survivors_of_full_passes
        class Node:
            pass
        freeze_survivors_of_full_passes()
        freeze_survivors_of_full_passes()  # idempotent
        # Given stored data (a tree, as moto keeps items) that lives through a full pass
        kept = [Node() for _ in range(10_000)]
        before = gc.get_freeze_count()
        gc.collect()
        deadline = time.monotonic() + 5
        while gc.get_freeze_count() <= before and time.monotonic() < deadline:
            time.sleep(0.01)
        frozen = gc.get_freeze_count()
        # When a frozen object is dropped, and a cycle made after the freeze becomes garbage
        dropped = weakref.ref(kept.pop())
        a, b = Node(), Node()
        a.other, b.other = b, a
        cycle = weakref.ref(a)
        del a, b
        unreachable = gc.collect(0) + gc.collect(1) + gc.collect(2)
        print(json.dumps({"frozen_before": before, "frozen": frozen, "dropped_alive": dropped() is not None,
                          "cycle_alive": cycle() is not None, "unreachable": unreachable,
                          "hooks": sum(1 for c in gc.callbacks if c.__qualname__.endswith("on_collection"))}))
    """)
    # Then what survived the pass was frozen (one hook, however often it is asked for)
    assert result["frozen"] >= result["frozen_before"] + 10_000
    assert result["hooks"] == 1
    # And reference counting still frees a frozen object, and the collector a new cycle
    assert result["dropped_alive"] is False
    assert result["cycle_alive"] is False and result["unreachable"] >= 2


def test_without_the_policy_nothing_is_frozen():
    # Given a process that never asked for it, a full pass freezes nothing (the policy is not a side effect)
    result = run("""
        import gc, json, time
        import barometer_local.emulator_gc
        kept = [object() for _ in range(1000)]
        gc.collect()
        time.sleep(0.1)
        print(json.dumps({"frozen": gc.get_freeze_count()}))
    """)
    assert result["frozen"] == 0
