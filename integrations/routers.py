"""A DRF router whose routes match with and without the trailing slash (``/integrations`` and ``/integrations/``).

DRF >= 3.15 reads ``DefaultRouter(trailing_slash=...)`` as a boolean, so ``trailing_slash="/?"``
silently becomes ``"/"`` and slash-less URLs 301-redirect (a POST then loses its body). The
pattern has to be set after construction.
"""

from rest_framework.routers import DefaultRouter


class OptionalSlashRouter(DefaultRouter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trailing_slash = "/?"
