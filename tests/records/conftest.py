import pytest


@pytest.fixture
def integration(org):
    from integrations.models import Integration

    return Integration.objects.create(organization=org, name="POS", code="pos", provider="webhook")


@pytest.fixture
def other_integration(other_org):
    from integrations.models import Integration

    return Integration.objects.create(organization=other_org, name="ERP", code="erp", provider="webhook")
