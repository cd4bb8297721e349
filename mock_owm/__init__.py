"""mock_owm."""
