"""Who am I, and a user's API token: the endpoints a REST client calls before anything else."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from .auth import ApiKeyPrincipal
from .models import Membership


class ObtainToken(ObtainAuthToken):
    """``POST /api/v1/auth/token`` with username and password: the user's token (created once)."""

    @extend_schema(
        request=inline_serializer("TokenRequest", {"username": serializers.CharField(),
                                                   "password": serializers.CharField()}),
        responses=inline_serializer("TokenAnswer", {"token": serializers.CharField()}),
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class Me(APIView):
    """``GET /api/v1/me``: the caller and the organizations (with roles) it can act in."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=inline_serializer("Me", {
        "principal": serializers.CharField(),
        "kind": serializers.CharField(),
        "organizations": serializers.ListField(child=serializers.DictField()),
    }))
    def get(self, request):
        user = request.user
        if isinstance(user, ApiKeyPrincipal):
            key = user.api_key
            orgs = [{"slug": key.organization.slug, "name": key.organization.name, "role": key.role}]
            return Response({"principal": str(user), "kind": "api_key", "organizations": orgs})
        memberships = Membership.objects.filter(user=user).select_related("organization")
        orgs = [{"slug": m.organization.slug, "name": m.organization.name, "role": m.role} for m in memberships]
        return Response({"principal": user.get_username(), "kind": "user", "organizations": orgs})
