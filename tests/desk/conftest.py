# The browser test runs against the same live gunicorn as the integration tests.
from tests.integration.conftest import live_service, service_env  # noqa: F401
