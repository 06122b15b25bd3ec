"""The emulator's memoised routing answers exactly what moto computes, and the emulator server uses it."""
from __future__ import annotations

import subprocess
import sys
import textwrap

HOSTS = ["dynamodb.us-east-1.amazonaws.com", "kinesis.eu-west-1.amazonaws.com", "s3.amazonaws.com",
         "my-bucket.s3.us-east-1.amazonaws.com", "sqs.us-east-1.amazonaws.com", "firehose.us-east-1.amazonaws.com",
         "moto_api", "dynamodb", "127.0.0.1:5000", None]


def _routing_answers(install: bool) -> str:
    # A fresh interpreter each time: the speedups patch moto's modules for the whole process.
    code = textwrap.dedent(f"""
        import json
        from barometer_local import emulator_speedups
        if {install}:
            emulator_speedups.install()
            emulator_speedups.install()  # twice: idempotent
        from moto import backends
        from moto.core import responses
        from moto.dynamodb.responses import DynamoHandler
        from moto.kinesis.responses import KinesisResponse
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        app = DomainDispatcherApplication(create_backend_app)
        answers = {{
            "modules": list(backends.list_of_moto_modules()),
            "hosts": [app.get_backend_for_host(h) for h in {HOSTS!r} * 2],
            "methods": [responses.method_names_from_class(c) for c in (DynamoHandler, KinesisResponse) * 2],
        }}
        print(json.dumps(answers, sort_keys=True))
    """)
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout


def test_memoised_routing_gives_moto_s_own_answers():
    # Given moto as shipped and moto with the speedups installed
    stock, fast = _routing_answers(install=False), _routing_answers(install=True)
    # Then every host routes to the same backend, and actions resolve to the same methods
    assert '"dynamodb"' in stock and '"kinesis"' in stock
    assert fast == stock


def test_emulator_server_installs_the_speedups():
    # Given the emulator server's startup, when it prepares moto, then the routing is memoised
    code = ("from barometer_local import emulator_server\n"
            "emulator_server.install()\n"
            "from moto.moto_server.werkzeug_app import DomainDispatcherApplication as D\n"
            "print(getattr(D.get_backend_for_host, '_barometer_cached', False))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "True"
