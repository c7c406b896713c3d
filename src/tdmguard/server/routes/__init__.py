"""The API's routers, one module per area; ``server/app.py`` includes them under ``/v1``."""
