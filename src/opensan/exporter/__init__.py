"""`opensan exporter`: OpenSAN's /metrics names for real QSAN arrays, read through the SDK.

source.py is the one interface to an array (SANOS now); families.py makes OpenSAN's families
from what it reads; scraper.py runs a scrape (concurrent reads, a deadline, stale values) as a
prometheus-client collector; http.py serves it.
"""
