"""The route engine: the planning model, backends, the evaluator and the day's plan."""
