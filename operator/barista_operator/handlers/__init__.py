"""kopf handlers: thin adapters from events to reconcile steps. Importing this package registers them."""

from barista_operator.handlers import (
    reconcilers,  # noqa: F401  (registers handlers)
    startup,  # noqa: F401  (registers handlers)
    watching,  # noqa: F401  (registers handlers)
)
