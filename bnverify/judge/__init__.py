"""Step 5, the judge: a candidate against the truth becomes a verdict with its reasons.

`evidence` gathers the layers (symbolic, exact, float64), `diagnosis` says why a wrong
candidate is wrong, `verdict` decides, and `budget` keeps each check within its time.
"""
