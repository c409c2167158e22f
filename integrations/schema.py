"""OpenAPI (drf-spectacular) descriptions of our authentication schemes; imported in AppConfig.ready."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "integrations.auth.ApiKeyAuthentication"
    name = "apiKey"
    priority = 1

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An organization API key: `Authorization: Bearer ihk_...` (acts with the key's role).",
        }


class UserTokenScheme(OpenApiAuthenticationExtension):
    target_class = "integrations.auth.BearerTokenAuthentication"
    name = "userToken"
    priority = 1

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A user's token: `Bearer <token>` or `Token <token>`. Users in several "
            "organizations add `X-Organization: <slug or id>`.",
        }
