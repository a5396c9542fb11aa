"""One scrape: every read of the source once, a few at a time, within a deadline; and the
prometheus-client collector that serves what they answered.

A read that fails or is still running at the deadline leaves the last good answer of its
endpoint in place, marked stale with its age, rather than dropping its families. A read still
running is not started again by the next scrape: that scrape waits for the same one (so a slow
array gets at most one request per endpoint at a time), and an answer that arrives late is
kept as the endpoint's newest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from opensan.client import SanosError
from opensan.exporter import families
from opensan.exporter.source import ArraySource, reads

log = logging.getLogger("opensan.exporter")


@dataclass(frozen=True)
class _Written:
    """An endpoint's families written in one format."""

    value: Any  # the answer they were written from
    text: bytes
    families: dict[str, tuple[list[Any], bytes]]  # name -> (its samples, its text)


@dataclass
class _Endpoint:
    """What the exporter knows of one endpoint across scrapes."""

    path: str
    read: Callable[[], Any]
    value: Any = None  # the last good answer (events: the counts by level)
    read_at: float | None = None  # time.time() of the last good answer
    duration: float = 0.0  # seconds the last read took (to its answer, failure or deadline)
    errors: int = 0  # reads that failed or missed the deadline
    stale: bool = True  # whether the last scrape served an older answer than its own
    running: Future[Any] | None = None
    started: float = 0.0  # time.monotonic() the running read started
    texts: dict[bool, _Written] = field(default_factory=dict)  # by format (openmetrics)


@dataclass
class _Scrape:
    up: bool = False
    seconds: float = 0.0
    count: int = 0


Encoder = Callable[[Any], bytes]  # what prometheus_client's choose_encoder answers


class _Families:
    """Families to hand an encoder, which reads a registry's collect()."""

    def __init__(self, metrics: Iterable[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self._metrics


def _without_eof(text: bytes, openmetrics: bool) -> bytes:
    """OpenMetrics ends with one # EOF: the parts of a scrape are joined before it."""
    return text.removesuffix(b"# EOF\n") if openmetrics else text


@dataclass(frozen=True)
class _Answer:
    value: Any
    error: Exception | None
    finished_at: float  # time.time()
    seconds: float


def _timed(read: Callable[[], Any]) -> _Answer:
    started = time.monotonic()
    try:
        value, error = read(), None
    except Exception as failed:  # handed to the scrape, which logs it
        value, error = None, failed
    return _Answer(value, error, time.time(), time.monotonic() - started)


class Scraper(Collector):
    """The collector: each collect() is one scrape of the array (one at a time)."""

    def __init__(self, source: ArraySource, *, deadline: float, concurrency: int) -> None:
        self._source = source
        self._deadline = deadline
        self._pool = ThreadPoolExecutor(max_workers=concurrency,
                                        thread_name_prefix="opensan-exporter-read")
        self._endpoints: dict[str, _Endpoint] = {}
        self._add_endpoints()
        self._lock = threading.Lock()
        self._last = _Scrape()
        self._events: Counter[str] = Counter()  # by level, since the exporter started

    def _add_endpoints(self) -> None:
        """The source's endpoints (a DetectingSource's are known once the array answered)."""
        for name, read in reads(self._source).items():
            if name not in self._endpoints:
                self._endpoints[name] = _Endpoint(self._source.endpoints[name], read)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._source.close()

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            self._scrape()
            yield from self._array_families()
            yield from self._own_families()

    def render(self, encoder: Encoder, openmetrics: bool) -> bytes:
        """A scrape in one of prometheus-client's formats (what `encoder(registry)` writes).

        The same as encoding collect(), faster: an endpoint's families are written once per
        distinct answer, and kept as text while the array answers the same (on 4,096 volumes
        the writer takes most of a second, the reads a fraction of it).
        """
        with self._lock:
            self._scrape()
            parts = [self._text(name, endpoint, encoder, openmetrics)
                     for name, endpoint in self._endpoints.items() if endpoint.read_at is not None]
            parts.append(_without_eof(encoder(_Families(self._own_families())), openmetrics))
        return b"".join(parts) + (b"# EOF\n" if openmetrics else b"")

    @staticmethod
    def _text(name: str, endpoint: _Endpoint, encoder: Encoder, openmetrics: bool) -> bytes:
        """The endpoint's families as text: kept while its answer is the same, and of a new
        answer only the families whose samples moved are written again."""
        kept = endpoint.texts.get(openmetrics)
        if kept is not None and kept.value is endpoint.value:
            return kept.text
        before = kept.families if kept is not None else {}
        written = {}
        for family in families.BUILDERS[name](endpoint.value):
            old = before.get(family.name)
            written[family.name] = old if old is not None and old[0] == family.samples else (
                family.samples, _without_eof(encoder(_Families([family])), openmetrics))
        text = b"".join(text for _, text in written.values())
        endpoint.texts[openmetrics] = _Written(endpoint.value, text, written)
        return text

    def _scrape(self) -> None:
        started = time.monotonic()
        self._last.count += 1
        try:
            # Here rather than in each read, so that a wrong password costs one failed login
            # a scrape, not one a read.
            self._source.connect()
        except SanosError as error:
            self._add_endpoints()  # found out, but the login failed: each endpoint is stale
            log.warning("Cannot log in to the array: %s", error)
            for endpoint in self._endpoints.values():
                endpoint.errors += 1
                endpoint.stale = True
            self._last.up = False
            self._last.seconds = time.monotonic() - started
            return
        self._add_endpoints()
        for endpoint in self._endpoints.values():
            if endpoint.running is None:
                endpoint.running = self._pool.submit(_timed, endpoint.read)
                endpoint.started = time.monotonic()
        wait([e.running for e in self._endpoints.values() if e.running is not None],
             timeout=max(0.0, started + self._deadline - time.monotonic()))
        answered = [self._take(name, endpoint) for name, endpoint in self._endpoints.items()]
        self._last.up = any(answered)
        self._last.seconds = time.monotonic() - started

    def _take(self, name: str, endpoint: _Endpoint) -> bool:
        """Keep what the endpoint's read answered, if it did by now; whether it did."""
        running = endpoint.running
        assert running is not None
        if not running.done():
            endpoint.duration = time.monotonic() - endpoint.started
            endpoint.errors += 1
            endpoint.stale = True
            log.warning("%s: no answer within the scrape's deadline of %g s", endpoint.path,
                        self._deadline)
            return False
        endpoint.running = None
        answer = running.result()
        endpoint.duration = answer.seconds
        endpoint.stale = answer.error is not None
        if answer.error is not None:
            endpoint.errors += 1
            if isinstance(answer.error, SanosError):
                log.warning("%s: %s", endpoint.path, answer.error)
            else:  # a source's own bug: logged in full, and the exporter serves on
                log.error("%s: the read failed", endpoint.path, exc_info=answer.error)
            return False
        endpoint.read_at = answer.finished_at
        if name == "new_events":
            self._events.update(e.level for e in answer.value)
            value = dict(self._events)
        else:
            value = answer.value
        if value != endpoint.value:  # else the old object stays: its text is written already
            endpoint.value = value
        return True

    def _array_families(self) -> Iterator[Metric]:
        for name, endpoint in self._endpoints.items():
            if endpoint.read_at is not None:
                yield from families.BUILDERS[name](endpoint.value)

    def _own_families(self) -> Iterator[Metric]:
        now = time.time()
        rows = [(e.path, e) for e in self._endpoints.values()]
        yield families.gauge("opensan_exporter_up", "1 when the array answered this scrape "
                             "(at least one endpoint; see opensan_exporter_endpoint_stale).",
                             [], [([], int(self._last.up))])
        yield families.gauge("opensan_exporter_scrape_duration_seconds", "How long this scrape "
                             "of the array took.", [], [([], self._last.seconds)], "seconds")
        scrapes = CounterMetricFamily("opensan_exporter_scrapes", "Scrapes of the array since "
                                      "the exporter started.")
        scrapes.add_metric([], self._last.count)
        yield scrapes
        logins = CounterMetricFamily("opensan_exporter_logins", "Logins to the array since the "
                                     "exporter started: one, and one more each time the array "
                                     "ended the session (HTTP 401).")
        logins.add_metric([], self._source.logins)
        yield logins
        yield families.gauge("opensan_exporter_endpoint_stale", "1 while the values of the "
                             "endpoint's families are from an earlier scrape (its read failed or "
                             "missed the deadline).", ["endpoint"],
                             (([path], int(e.stale)) for path, e in rows))
        yield families.gauge("opensan_exporter_endpoint_age_seconds", "Age of the endpoint's "
                             "values served (since its last good answer).", ["endpoint"],
                             (([path], now - e.read_at) for path, e in rows
                              if e.read_at is not None), "seconds")
        yield families.gauge("opensan_exporter_endpoint_duration_seconds", "How long the "
                             "endpoint's read of this scrape took (to the deadline, if it "
                             "missed it).", ["endpoint"],
                             (([path], e.duration) for path, e in rows), "seconds")
        errors = CounterMetricFamily("opensan_exporter_endpoint_errors", "Reads of the endpoint "
                                     "that failed or missed the deadline.", labels=["endpoint"])
        for path, e in rows:
            errors.add_metric([path], e.errors)
        yield errors

