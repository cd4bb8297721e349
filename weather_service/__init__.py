"""weather_service."""
