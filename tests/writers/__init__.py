"""Fixture writers: each module runs a framework's own classes offline (scripted models and
agents, no network) and returns the files that framework wrote plus the in-memory truth of what
it was given, so tests can check that a loader keeps every record the writer wrote."""
