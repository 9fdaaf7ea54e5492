"""Local fake servers of the business tools' APIs, for offline connector tests."""
