"""Learning from delivery history: the attempt-history format and the failure-risk model."""
