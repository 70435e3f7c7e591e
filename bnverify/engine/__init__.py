"""Step 4, the engine: the true gradient of a model, derived, proved and evaluated.

`backprop` derives every gradient by reverse-mode rules; `field` and `general` make every
formula one exact value valid for every batch size N (and `elements` at one N), which is
what proofs compare; `algebra` and `closed_form` state results for a reader; `evaluate`
with `arithmetic` computes any tree exactly, in intervals or in float64 at a point.
"""
