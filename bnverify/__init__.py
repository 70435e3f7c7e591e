"""bnverify: exact, tolerance-free verdicts on hand-derived gradients.

The pipeline, one module per step: a model file becomes a graph (model), whose
gradients the engine derives (backprop) and SymPy proves (symbolic, truth). A candidate's
text becomes a tree (language), in the model's names (notation), which the comparator
turns into a verdict (evidence, diagnosis, verdict). Verdicts go to a report (report/).
"""

__version__ = "0.1.0"
