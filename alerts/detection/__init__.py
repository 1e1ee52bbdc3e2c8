"""Detection: rules, the hot-issue score, story alerts, spikes and the fact bank, run per new document."""
