"""Detection, run per new document: rules, the hot-issue score, story alerts, spikes and
the fact bank."""
