"""fetch-weather: OpenWeatherMap -> weather service, then a categorize task downstream."""
