"""Step 2, the formula language: formula text (LaTeX or ASCII) becomes an expression tree.

The grammars live in `grammar/`; `parser` is the entry point, `tree` the nodes, `operators`
the one vocabulary of operations, `names` the naming conventions, `shapes` what each
operation does to batch and channel shapes, and `tree_printing` the way back to text.
"""
