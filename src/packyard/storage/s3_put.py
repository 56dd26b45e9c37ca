"""Store one staged file in the object store from a process of its own.

    PACKYARD_S3_PUT_URL=<storage URL> python -m packyard.storage.s3_put PATH KEY

A big PUT in a worker process (boto3's transfer threads reading and sending up to GiBs) holds the
worker's GIL against every other request it serves: each of their many short I/O waits queues
behind the transfer threads for the GIL again, so a small publish beside a 1 GiB PUT took hundreds
of milliseconds longer. From a child process the PUT costs the machine a core's time and the
worker nothing. It runs at the lowest CPU priority (nice 19), so on a busy machine the requests
come first and the bulk transfer takes what is left; and an object store on the same machine
(moto, MinIO) receives only as fast as the child sends, so it too leaves the cores to them. It
sends `put_concurrency` parts at a time (the storage URL's option, 1 unless set), not boto3's
10, so the store keeps room for the small PUTs of other publishes (bench/slow_blob_publish.py:
the p90 delay of a small publish went from +370 ms at 10 parts to +104 at 2 and +26..+47 at 1).
The exit status says what happened: 0 stored; `REFUSED` the store refused the write,
`UNREACHABLE` it could not be reached, with the store's reason on stderr either way.
"""

from __future__ import annotations

import os
import sys

REFUSED, UNREACHABLE = 3, 4
URL_VARIABLE = "PACKYARD_S3_PUT_URL"  # the storage URL, as PACKYARD_STORAGE_URL


def main(argv: list[str]) -> int:
    from boto3.exceptions import S3UploadFailedError
    from boto3.s3.transfer import TransferConfig
    from botocore.exceptions import BotoCoreError, ClientError

    from packyard.storage.s3 import put_concurrency, s3_client

    path, key = argv
    os.nice(19)
    url = os.environ[URL_VARIABLE]
    client, bucket, _ = s3_client(url)
    try:
        client.upload_file(path, bucket, key, Config=TransferConfig(max_concurrency=put_concurrency(url)))
    except (S3UploadFailedError, ClientError) as exc:
        print(" ".join(str(exc).split())[:300], file=sys.stderr)
        return REFUSED
    except BotoCoreError as exc:
        print(type(exc).__name__, file=sys.stderr)
        return UNREACHABLE
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
