"""kopf handlers: thin adapters from events to reconcile steps. Importing this package registers them."""

from barista_operator.handlers import (
    resources,  # noqa: F401  (registers handlers)
    startup,  # noqa: F401  (registers handlers)
)
