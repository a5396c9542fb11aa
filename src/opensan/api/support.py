"""What the service package is made of beyond the API's own answers: the server's recent log,
kept in memory, and a zip written as a stream, so that neither grows with the event log."""

from __future__ import annotations

import logging
import re
import threading
import zipfile
from collections import deque
from collections.abc import Iterable, Iterator

RECENT_RECORDS = 2000
# Any logger may write a request line (an HTTP client's, a library's), not only the access log,
# which redacts its own: a password in a path or a query, or a token header, is cut here too.
_SECRETS_IN_TEXT = (
    (re.compile(r"(/(?:new)?password/)[^/\s\"'?#]*", re.IGNORECASE), r"\1***"),
    (re.compile(r"([?&][^=&\s]*password[^=&\s]*=)[^&\s\"'#]*", re.IGNORECASE), r"\1***"),
    (re.compile(r"((?:authorization|cookie|x-csrf-token)['\"]?\s*[:=,]\s*['\"]?)[^'\"\s,}]+"
                r"(\s+[^'\"\s,}]+)?", re.IGNORECASE), r"\1***"),
)
# A record longer than this (a huge traceback) is cut, so the ring's memory stays bounded.
MAX_RECORD_CHARS = 8000
CHUNK_BYTES = 256 * 1024


def redacted(line: str) -> str:
    """The line with every password and token it shows replaced by ***."""
    for pattern, replacement in _SECRETS_IN_TEXT:
        line = pattern.sub(replacement, line)
    return line


class RecentLog(logging.Handler):
    """The last RECENT_RECORDS log records of this process, formatted, for technical support."""

    def __init__(self, capacity: int = RECENT_RECORDS) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self._records: deque[str] = deque(maxlen=capacity)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._records.append(redacted(self.format(record)[:MAX_RECORD_CHARS]))
        except Exception:
            self.handleError(record)

    def lines(self) -> list[str]:
        self.acquire()  # emit() appends under the same lock
        try:
            return list(self._records)
        finally:
            self.release()


_install_lock = threading.Lock()
_installed: RecentLog | None = None


def recent_log() -> RecentLog:
    """The process's ring, attached to the root logger once: whatever the server's loggers
    pass on (the access log, errors, the backends' warnings) is kept, at their levels."""
    global _installed
    with _install_lock:
        if _installed is None:
            _installed = RecentLog()
            logging.getLogger().addHandler(_installed)
        return _installed


class _Sink:
    """Where zipfile writes: bytes collected until the stream takes them. Not seekable, so
    zipfile writes each member's sizes after its data (a data descriptor)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes, /) -> int:
        self._parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered below the parts."""

    def close(self) -> None:
        """The stream ends with the last chunk taken."""

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        self.size = 0
        return data


Member = tuple[zipfile.ZipInfo, Iterable[bytes]]


def member(name: str, date_time: tuple[int, int, int, int, int, int]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def zip_stream(members: Iterable[Member]) -> Iterator[bytes]:
    """The zip of these members, in chunks of about CHUNK_BYTES, each member's content read
    from its iterable as the stream goes: memory holds a chunk, never a member."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w") as archive:
        for info, content in members:
            # Zip64 sizes: a member written as a stream may pass 4 GiB (a huge event log).
            with archive.open(info, "w", force_zip64=True) as out:
                for piece in content:
                    out.write(piece)
                    if sink.size >= CHUNK_BYTES:
                        yield sink.take()
    yield sink.take()
