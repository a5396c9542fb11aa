"""How domain values leave as JSON (api/schemas.py)."""

from __future__ import annotations

from opensan.api.schemas import iso_time


def test_times_render_also_past_what_dates_hold() -> None:
    """0.1.0 let the simulated clock stamp events in year 10001; they must still render."""
    assert iso_time(0) == "1970-01-01T00:00:00Z"
    assert iso_time(1_800_000_000) == "2027-01-15T08:00:00Z"
    assert iso_time(253_402_300_800 + 10**9) == "9999-12-31T23:59:59Z"
    assert iso_time(-5) == "1970-01-01T00:00:00Z"
