"""Supervision: the rubric, scores with their evidence, and the reports built from them."""
