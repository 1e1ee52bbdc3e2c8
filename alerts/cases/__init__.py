"""Cases: an alert's lifecycle from new to closed, each change an event and an audit row."""
