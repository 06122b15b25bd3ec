"""The IAM actions of each access mode of the catalogue (barometer/catalogue.py `Access`), per kind of resource.

Written out rather than taken from CDK's grant helpers: `grant_read_data` also allows Scan and the table's
stream, `grant_read_write` on a bucket allows DeleteObject and every key, `grant_send_messages` on one
queue is what a producer needs but not what a depth check needs. Here each mode is the calls the handlers
make (docs/infra.md lists them), and tests/infra/test_infra_access.py compares the synthesized role policies
with this table.
"""
from __future__ import annotations

from barometer.catalogue import INSPECT, PUBLISH, PUT_OBJECTS, READ, READ_UPDATE, READ_WRITE, SEND, WRITE

TABLE_READ = ("dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query")
TABLE_WRITE = ("dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
# DynamoDB decrypts the table key for every request on behalf of the caller; writes also encrypt.
TABLE_KEY_READ = ("kms:Decrypt", "kms:DescribeKey")
TABLE_KEY_WRITE = TABLE_KEY_READ + ("kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*")

# (resource kind, mode) -> (actions on the resource, actions on the KMS key that encrypts it)
ACTIONS: dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]] = {
    ("table", READ): (TABLE_READ, TABLE_KEY_READ),
    ("table", WRITE): (TABLE_WRITE, TABLE_KEY_WRITE),
    ("table", READ_WRITE): (TABLE_READ + TABLE_WRITE, TABLE_KEY_WRITE),
    ("table", READ_UPDATE): (("dynamodb:GetItem", "dynamodb:UpdateItem"), TABLE_KEY_WRITE),
    # A producer on a KMS-encrypted stream needs a data key; it never decrypts.
    ("stream", WRITE): (("kinesis:PutRecords",), ("kms:GenerateDataKey",)),
    # ListBucket (limited to the prefix) makes a missing key NoSuchKey instead of AccessDenied.
    ("bucket", READ): (("s3:GetObject", "s3:ListBucket"), ("kms:Decrypt",)),
    ("bucket", PUT_OBJECTS): (("s3:PutObject",), ("kms:GenerateDataKey",)),
    # SQS asks for a data key per message and decrypts the cached one to reuse it.
    ("queue", SEND): (("sqs:GetQueueUrl", "sqs:SendMessage"), ("kms:Decrypt", "kms:GenerateDataKey")),
    ("queue", INSPECT): (("sqs:GetQueueAttributes", "sqs:GetQueueUrl"), ()),
    ("topic", PUBLISH): (("sns:Publish",), ("kms:Decrypt", "kms:GenerateDataKey")),
    ("secret", READ): (("secretsmanager:GetSecretValue",), ("kms:Decrypt",)),
    ("delivery", WRITE): (("firehose:PutRecordBatch",), ()),
}


class AccessError(ValueError):
    """An access mode the kind of resource does not have (e.g. `publish` on a table)."""


def actions_for(kind: str, mode: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    try:
        return ACTIONS[(kind, mode)]
    except KeyError:
        raise AccessError(f"a {kind} has no access mode {mode!r} "
                          f"(modes: {sorted(m for k, m in ACTIONS if k == kind)})") from None
