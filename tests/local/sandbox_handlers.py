"""Handlers for the sandbox tests: each shows one behaviour of an execution environment."""
from __future__ import annotations

import json
import os
import time

_invocations = {"count": 0}  # module state: kept between invocations of one environment, as on Lambda


def echo(event, context):
    _invocations["count"] += 1
    print(json.dumps({"_aws": {"Timestamp": 1764500000000, "CloudWatchMetrics": [
        {"Namespace": "Test", "Dimensions": [[]], "Metrics": [{"Name": "Echoed", "Unit": "Count"}]}]},
        "Echoed": 1}))
    print("a log line")
    return {"event": event, "pid": os.getpid(), "count": _invocations["count"],
            "function": context.function_name, "remaining_ms": context.get_remaining_time_in_millis()}


def fail(event, context):
    raise ValueError(f"bad record {event.get('n')}")


def crash(event, context):
    os._exit(3)


def sleep(event, context):
    time.sleep(float(event["seconds"]))
    return {"slept": event["seconds"]}
