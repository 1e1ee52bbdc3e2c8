"""Places on Vietnam's 2025 administrative map: the province profile and document locality."""
