"""Experiments built from the layers below: training runs, the scaling study, results with provenance."""
