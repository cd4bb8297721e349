"""etl_core."""
