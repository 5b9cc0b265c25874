"""Reading the IDX files MNIST and Fashion-MNIST are published in.

An IDX file is a tiny header (magic number, dimension sizes, big-endian) followed by
raw uint8 data. We check every part of it, so a truncated or corrupted download is
reported by file name instead of surfacing later as a numpy error or short data.
"""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

# The third byte of the magic number is the data type (0x08 = unsigned byte) and
# the fourth the number of dimensions: 2051 = images (3 dims), 2049 = labels (1 dim).
IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801


class IdxError(ValueError):
    """An IDX file is missing, truncated or not what its name promises."""


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise IdxError(f"{path}: cannot be read ({err}); the file is damaged or truncated") from err


def read_idx(path: str | Path, expected_magic: int, expected_count: int | None = None) -> np.ndarray:
    """Parse one IDX file into a uint8 array, validating header, size and count."""
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise IdxError(f"{path}: too short to be an IDX file ({len(raw)} bytes)")
    (magic,) = struct.unpack(">I", raw[:4])
    if magic != expected_magic:
        raise IdxError(f"{path}: magic number {magic} is not {expected_magic}; wrong or corrupt file")
    ndim = magic & 0xFF
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise IdxError(f"{path}: header is truncated")
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    expected_size = header_size + int(np.prod(shape))
    if len(raw) != expected_size:
        raise IdxError(
            f"{path}: holds {len(raw)} bytes but its header {shape} needs {expected_size}; "
            "the file is truncated or corrupt"
        )
    if expected_count is not None and shape[0] != expected_count:
        raise IdxError(f"{path}: has {shape[0]} items, expected {expected_count}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzipped when the name ends in .gz); used by tests and tools."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
