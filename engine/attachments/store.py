"""Content-addressed files under <instance>/attachments/ab/cd/<sha256>.

An upload is streamed into a temporary file beside the store while it is hashed and counted (so
a file over the limit is refused without being held in memory), then moved into place with one
atomic rename; the same bytes are stored once."""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from engine.errors import DomainError

SHA256_RE = re.compile(r"[0-9a-f]{64}")


class TooLarge(DomainError):
    code, status = "too_large", 413


def store_root(instance_dir: Path | str) -> Path:
    return Path(instance_dir) / "attachments"


def blob_path(root: Path, sha256: str) -> Path:
    if not SHA256_RE.fullmatch(sha256):
        raise ValueError(f"not a sha256: {sha256!r}")
    return root / sha256[:2] / sha256[2:4] / sha256


class HashingSpool:
    """A write-then-read temporary file that hashes and counts what is written and refuses
    more than `max_bytes` (TooLarge). Usable as werkzeug's multipart stream_factory result."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        tmp = root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=tmp, prefix="upload-")
        self.path = Path(name)
        self._file: IO[bytes] = os.fdopen(fd, "w+b")
        self._hash = hashlib.sha256()
        self.size = 0
        self.max_bytes = max_bytes
        self._stored = False

    # --- the file-like surface werkzeug and FileStorage use ---
    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise TooLarge(f"the file is larger than {self.max_bytes} bytes",
                           {"max_bytes": self.max_bytes})
        self._hash.update(data)
        return self._file.write(data)

    def read(self, n: int = -1) -> bytes:
        return self._file.read(n)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def flush(self) -> None:
        self._file.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def finish(self) -> Path:
        """Flush to disk (the content can be sniffed at self.path from now on)."""
        self._file.flush()
        os.fsync(self._file.fileno())
        return self.path

    def store(self, root: Path) -> Path:
        """Move the bytes to their content address (atomic; kept once). Returns the final path."""
        self.finish()
        self._file.close()
        dest = blob_path(root, self.sha256)
        if dest.exists():
            self.path.unlink(missing_ok=True)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(self.path, 0o640)
            os.replace(self.path, dest)  # atomic; a concurrent upload of the same bytes writes the same file
            _fsync_dir(dest.parent)
        self._stored = True
        return dest

    def discard(self) -> None:
        if not self._file.closed:
            self._file.close()
        if not self._stored:
            self.path.unlink(missing_ok=True)

    def close(self) -> None:
        # FileStorage.close() lands here; the temporary file is removed by discard() or store().
        pass


STALE_UPLOAD_SECONDS = 6 * 3600  # no upload takes this long; what is older was left by a crash


def sweep_tmp(root: Path, *, older_than: float = STALE_UPLOAD_SECONDS, now: float | None = None) -> int:
    """Remove temporary upload files a killed process left behind (a live upload's file is
    stored or discarded within its request). Returns how many were removed."""
    tmp = root / "tmp"
    if not tmp.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - older_than
    removed = 0
    for path in tmp.glob("upload-*"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # another sweeper or its own request got there first
            continue
    return removed


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_blob(root: Path, sha256: str) -> bytes:
    return blob_path(root, sha256).read_bytes()
