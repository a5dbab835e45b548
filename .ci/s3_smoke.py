#!/usr/bin/env python3
"""Signed S3 smoke check for CI (boto3): make sure TEST_S3_BUCKET exists on
TEST_S3_ENDPOINT with the CI credentials, then put, get and delete a probe
object. Exit 0 on success, 1 on failure, 3 if boto3 is not importable."""

import os
import sys
import uuid

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError
except ImportError:
    print("s3_smoke: boto3 not available, skipping signed check")
    sys.exit(3)


def main():
    bucket = os.environ["TEST_S3_BUCKET"]
    s3 = boto3.client(
        "s3",
        endpoint_url=os.environ["TEST_S3_ENDPOINT"],
        aws_access_key_id=os.environ["TEST_S3_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["TEST_S3_SECRET_ACCESS_KEY"],
        region_name=os.environ.get("TEST_S3_REGION", "us-east-1"),
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
    )
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code")
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise
        print(f"s3_smoke: creating bucket {bucket}")
        s3.create_bucket(Bucket=bucket)
    key = f"ci-smoke/{uuid.uuid4().hex}.txt"
    body = b"portal ci smoke\n"
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/plain")
    got = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    if got != body:
        print(f"s3_smoke: read back {got!r}, expected {body!r}")
        return 1
    s3.delete_object(Bucket=bucket, Key=key)
    print(f"s3_smoke: signed put/get/delete OK on bucket {bucket}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # noqa: BLE001 - report anything as a failed check
        print(f"s3_smoke: FAILED: {type(e).__name__}: {e}")
        sys.exit(1)
