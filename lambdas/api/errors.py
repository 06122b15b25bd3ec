"""Errors of the API's ports (the handler answers them; adapters translate botocore's ClientError)."""
from __future__ import annotations


class ReadError(RuntimeError):
    """A table could not be read."""
