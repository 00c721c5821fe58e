"""The session loop and what it owns: clocks, per-sink queues, the one fold."""
