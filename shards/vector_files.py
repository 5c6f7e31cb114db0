"""Index files: written atomically, checked on load.

    <data>/<shard>/vectors/<collection>@<field>.idx

Layout: the magic line `shardgate-vectors 1\\n`, an 8-byte big-endian header length, the
header as JSON (`seq` = the change-log position the file covers, the field spec, each array's
dtype, shape and byte length, and the CRC-32 of the payload), then the arrays' bytes.

A write goes to `<name>.tmp`, is fsynced, renamed over the old file, and the directory is
fsynced: a crash leaves either the old file or the new one, never half of one. A file that is
missing, truncated, corrupt or for another spec loads as None, and the caller rebuilds the
index from SQLite.
"""

from __future__ import annotations

import logging
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

log = logging.getLogger(__name__)

MAGIC = b"shardgate-vectors 1\n"


def file_name(collection: str, field: str) -> str:
    return f"{collection}@{field}.idx"


def write_atomic(
    path: Path, seq: int, spec: dict[str, Any], arrays: dict[str, npt.NDArray[np.generic]]
) -> None:
    parts = {name: np.ascontiguousarray(a) for name, a in arrays.items()}
    payload = b"".join(a.tobytes() for a in parts.values())
    header = orjson.dumps(
        {
            "seq": seq,
            "spec": spec,
            "arrays": [[n, a.dtype.str, list(a.shape), a.nbytes] for n, a in parts.items()],
            "crc32": zlib.crc32(payload),
        }
    )
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(MAGIC + len(header).to_bytes(8, "big") + header)
        f.write(payload)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)  # the rename itself must survive a power loss
    finally:
        os.close(fd)


def read(path: Path, spec: dict[str, Any]) -> tuple[int, dict[str, npt.NDArray[np.generic]]] | None:
    """(seq, arrays), or None when the file is missing, damaged or for another spec."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        log.warning("cannot read vector index %s (%s); rebuilding it", path.name, e)
        return None
    try:
        if not data.startswith(MAGIC):
            raise ValueError("bad magic")
        at = len(MAGIC)
        size = int.from_bytes(data[at : at + 8], "big")
        header = orjson.loads(data[at + 8 : at + 8 + size])
        payload = memoryview(data)[at + 8 + size :]
        if zlib.crc32(payload) != header["crc32"]:
            raise ValueError("checksum mismatch")
        if header["spec"] != spec:
            log.info("vector index %s was built for other settings; rebuilding it", path.name)
            return None
        arrays: dict[str, npt.NDArray[np.generic]] = {}
        offset = 0
        for name, dtype, shape, nbytes in header["arrays"]:
            chunk = payload[offset : offset + nbytes]
            arrays[name] = np.frombuffer(chunk, dtype=np.dtype(dtype)).reshape(shape).copy()
            offset += nbytes
        if offset != len(payload):
            raise ValueError("payload length mismatch")
        return int(header["seq"]), arrays
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError) as e:
        log.warning("vector index %s is damaged (%s); rebuilding it", path.name, e)
        return None
