"""The decisions of a session, pure: the controller, the zone judge and its evidence,
the planner and its rules, the signal and breath watches, the resonance assessment."""
