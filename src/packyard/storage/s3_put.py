"""Store one staged file in the object store from a process of its own.

    PACKYARD_S3_PUT_URL=<storage URL> python -m packyard.storage.s3_put PATH KEY

A big PUT in a worker process (boto3's transfer threads reading and sending up to GiBs) holds the
worker's GIL against every other request it serves: each of their many short I/O waits queues
behind the transfer threads for the GIL again, so a small publish beside a 1 GiB PUT took hundreds
of milliseconds longer. From a child process the PUT costs the machine a core's time and the
worker nothing; it runs at a lower CPU priority (nice 10), so on a busy machine the requests
come first and the bulk transfer takes what is left. The exit status says what happened: 0
stored; `REFUSED` the store refused the write, `UNREACHABLE` it could not be reached, with the
store's reason on stderr either way.
"""

from __future__ import annotations

import os
import sys

REFUSED, UNREACHABLE = 3, 4
URL_VARIABLE = "PACKYARD_S3_PUT_URL"  # the storage URL, as PACKYARD_STORAGE_URL


def main(argv: list[str]) -> int:
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import BotoCoreError, ClientError

    from packyard.storage.s3 import s3_client

    path, key = argv
    os.nice(10)
    client, bucket, _ = s3_client(os.environ[URL_VARIABLE])
    try:
        client.upload_file(path, bucket, key)
    except (S3UploadFailedError, ClientError) as exc:
        print(" ".join(str(exc).split())[:300], file=sys.stderr)
        return REFUSED
    except BotoCoreError as exc:
        print(type(exc).__name__, file=sys.stderr)
        return UNREACHABLE
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
