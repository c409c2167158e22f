from rest_framework.authentication import BaseAuthentication


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        return None


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        return None
