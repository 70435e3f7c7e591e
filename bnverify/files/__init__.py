"""Step 1, files in: derivation and model files read as TOML, every value with its place.

Every file bnverify reads goes through `access` (no links out, no devices),
`toml_source` (positions) and `toml_keys` (one table of keys per kind of file, unknown
keys refused); the records keep file, line and column so any later problem can point at
its source.
"""
