"""The decisions of a session, pure: the controller, the zone judge and its evidence,
the planner and its rules, the signal and breath watches, the resonance assessment."""

# The resonance assessment's routine (resonance_plan.py), named here so that a session
# can find past assessments in the store without loading the assessment's plan.
ASSESSMENT_PROTOCOL = "resonance"
