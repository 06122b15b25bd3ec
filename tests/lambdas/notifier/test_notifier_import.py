"""The notifier's handler module imports fast: no AWS client, SDK session or data library at import."""
from __future__ import annotations

import json
import subprocess
import sys


def test_importing_the_handler_creates_no_client_and_loads_no_heavy_module():
    # Given a fresh interpreter (as on a Lambda cold start)
    probe = ("import json, sys, lambdas.notifier.handler; from barometer import aws; "
             "print(json.dumps({'clients': aws.client.cache_info().currsize, "
             "'loaded': [m for m in ('boto3', 'pandas', 'pyarrow', 'yaml', 'duckdb') if m in sys.modules]}))")
    # When only the handler module is imported
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    # Then nothing talked to AWS and nothing heavy came along
    assert json.loads(out.stdout) == {"clients": 0, "loaded": []}
