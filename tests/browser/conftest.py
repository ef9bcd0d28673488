"""Browser fixtures live in tests/browsing.py, shared through tests/conftest.py."""
