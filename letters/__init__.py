"""Tracked letters (来信): intake, screening, routing, deadlines, supervision, replies."""
