"""mock_owm: a faithful OpenWeatherMap One Call 3.0 mock with synthetic, deterministic weather.

``mock_owm.app.create_app(settings)`` builds the app (tests); ``mock_owm.server.serve(host, port)``
runs it (``trail-etl serve mock-owm``). See docs/mock-owm.md.
"""
