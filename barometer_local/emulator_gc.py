"""The emulator's cyclic garbage collector: survivors of each full pass are frozen, so the next pass
does not walk them again.

moto keeps every item, record and object it stores as a tree of small Python objects (an item is about
thirty), nearly all acyclic and alive until deleted. CPython's full (generation 2) pass walks every
tracked object, and it comes each time the heap has grown by a quarter: at 1,000 events/s the emulator
spent 10% of its CPU in these passes, 0.5 s each with a few hundred thousand events stored, and every
request waited through them (docs/benchmarks.md, "The emulator's collector"). Objects that just survived
a full pass are reachable; freezing them (`gc.freeze`) takes them out of later passes, so each pass walks
only what was allocated since the one before. Reference counting still frees frozen objects when they
are dropped (a deleted table, an overwritten item); only a frozen object that later becomes part of an
unreachable cycle stays, and the measured deletes leave few such objects (tests/local/test_emulator_gc.py).
"""
from __future__ import annotations

import gc
import threading
from typing import Any

_started = threading.Lock()
_installed = False


def freeze_survivors_of_full_passes() -> None:
    """From now on, after each full pass a daemon thread freezes what survived it. Idempotent.

    Freezing happens on a thread of its own, not inside the collector's callback: the callback runs
    in whatever allocation triggered the pass, and the collector's lists are its own business there.
    """
    global _installed
    with _started:
        if _installed:
            return
        _installed = True
    full_pass_ended = threading.Event()

    def on_collection(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] == 2:
            full_pass_ended.set()

    def freezer() -> None:
        while True:
            full_pass_ended.wait()
            full_pass_ended.clear()
            gc.freeze()

    gc.callbacks.append(on_collection)
    threading.Thread(target=freezer, name="emulator-gc-freezer", daemon=True).start()
