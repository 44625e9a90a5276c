"""Live events: one envelope (DESIGN §8), one printer, many sources."""
