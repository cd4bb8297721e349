"""``trail-etl demo``: the whole pipeline on a laptop with nothing installed but the project."""
