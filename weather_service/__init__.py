"""weather_service: the HTTP service that stores trail locations, hourly weather, trail conditions
and ETL run records, and that users query.

Entry points: ``weather_service.app.create_app`` (the ASGI app factory),
``weather_service.server.serve`` (load settings, migrate, run uvicorn) and
``weather_service.migrate.migrate`` (bring a database's schema to the newest revision).
"""
