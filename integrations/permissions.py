from rest_framework.permissions import IsAuthenticated


class OrganizationRolePermission(IsAuthenticated):
    pass
