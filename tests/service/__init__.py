"""ArrayService tests, straight against the simulated backend (no HTTP).

A package, so that its conftest and its modules (test_simulation.py is also a name in tests/api)
do not take the module names of the other test directories' files.
"""
