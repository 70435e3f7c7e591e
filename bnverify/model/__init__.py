"""Step 3, the model: a layer written as a model file becomes a graph of named nodes.

`graph` holds the Model record; `notation` maps an author's spellings onto the model's names.
The built-in layers ship as model files in `layers/`.
"""
