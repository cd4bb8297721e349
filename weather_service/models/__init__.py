"""Request and response bodies: the service's JSON contract, validated with pydantic."""
