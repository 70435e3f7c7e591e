"""Step 4, the engine: the true gradient of a model, derived, proved and evaluated.

`backprop` derives every gradient by reverse-mode rules, `symbolic` and `truth` prove them
with SymPy, `algebra` states them for every batch size, and `evaluate` with `arithmetic`
computes any tree exactly (rationals), in intervals or in float64 at sampled points.
"""
