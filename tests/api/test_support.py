"""The pieces of the service package: the server's recent log and the streamed zip."""

from __future__ import annotations

import hashlib
import io
import logging
import zipfile

import pytest

from opensan.api import support
from opensan.api.support import MAX_RECORD_CHARS, RecentLog, member, recent_log, zip_stream

STAMP = (2026, 12, 2, 9, 30, 0)


def test_the_recent_log_keeps_the_newest_records_and_cuts_long_ones() -> None:
    ring = RecentLog(capacity=5)
    logger = logging.getLogger("opensan.test-ring")
    logger.addHandler(ring)
    logger.propagate = False
    try:
        for i in range(12):
            logger.warning("record %d", i)
        logger.warning("x" * (2 * MAX_RECORD_CHARS))
    finally:
        logger.removeHandler(ring)
        logger.propagate = True
    lines = ring.lines()
    assert [line.rsplit(" ", 1)[-1] for line in lines[:-1]] == ["8", "9", "10", "11"]
    assert len(lines[-1]) == MAX_RECORD_CHARS


@pytest.mark.parametrize(("line", "shown"), [
    ("POST http://a/rest/login/account/admin/password/S3cr%2Ft HTTP/1.1",
     "POST http://a/rest/login/account/admin/password/*** HTTP/1.1"),
    ("POST /rest/account/setpassword?account=admin&password=S3cret&x=1",
     "POST /rest/account/setpassword?account=admin&password=***&x=1"),
    ("headers {'Authorization': 'Bearer S3cret', 'Accept': '*/*'}",
     "headers {'Authorization': '***', 'Accept': '*/*'}"),
    ("Cookie: opensan_session=S3cret", "Cookie: ***"),
])
def test_the_recent_log_redacts_secrets_any_logger_writes(line: str, shown: str) -> None:
    assert support.redacted(line) == shown


def test_the_ring_is_installed_once_on_the_root_logger() -> None:
    assert recent_log() is recent_log()
    assert logging.getLogger().handlers.count(recent_log()) == 1
    logging.getLogger("opensan.test-ring").error("seen by the ring")
    assert recent_log().lines()[-1].endswith("ERROR opensan.test-ring: seen by the ring")


def test_the_zip_streams_in_chunks_and_reads_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(support, "CHUNK_BYTES", 1024)
    # Hashes compress little, so the compressor hands on data as it goes.
    lines = [hashlib.sha256(str(i).encode()).hexdigest().encode() + b"\n" for i in range(20_000)]
    chunks = list(zip_stream([(member("a.json", STAMP), [b"{}"]),
                              (member("log.txt", STAMP), lines)]))
    assert len(chunks) > 10 and max(map(len, chunks)) < 64 * 1024
    package = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert package.testzip() is None
    assert package.read("a.json") == b"{}" and package.read("log.txt") == b"".join(lines)
    assert package.getinfo("log.txt").date_time == STAMP
    assert package.getinfo("log.txt").compress_type == zipfile.ZIP_DEFLATED
