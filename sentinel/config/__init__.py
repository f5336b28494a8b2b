"""The sentinel.yaml language: models, loading and resolution, schema export."""
