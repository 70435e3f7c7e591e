"""Printers over verdict records: each format renders, none computes."""
