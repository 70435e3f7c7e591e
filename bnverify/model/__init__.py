"""Step 3, the model: a layer written as a model file becomes a graph of named nodes.

`sections` reads each part of a model file against the one table of its keys, `graph`
holds the Model record and loads it, and `notation` maps an author's spellings onto the
model's names. The built-in layers ship as model files in `layers/`.
"""
