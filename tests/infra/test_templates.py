"""What the templates deploy, read offline: no key anywhere, every setting, table, queue and role.

Names come from the code (shared/config/settings.py, every */function.json), so these checks follow
the service as it grows. Each reader is also run on a planted bad template to show it can fail.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from lark.exceptions import LarkError

from shared.config.settings import SMS_MAX_RECIPIENTS_LIMIT
from tests.infra import templates as t
from tests.infra.templates import RoleAssignment, Template

# The host's identity-based connection replaces the AzureWebJobsStorage connection string.
HOST_STORAGE = {
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "AzureWebJobsStorage__blobServiceUri",
    "AzureWebJobsStorage__queueServiceUri",
    "AzureWebJobsStorage__tableServiceUri",
}
TELEMETRY = {
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "OTEL_LOGS_EXPORTER",
}

ACS_ROLE = "b24988ac-6180-42a0-ab88-20f7382dd24c"  # Contributor, on the ACS resource only
BLOB_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"  # Storage Blob Data Owner
QUEUE_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"  # Storage Queue Data Contributor
TABLE_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"  # Storage Table Data Contributor
METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"  # Monitoring Metrics Publisher
ACS = "Microsoft.Communication/communicationServices"
ACCOUNT = "Microsoft.Storage/storageAccounts"
TABLE = "Microsoft.Storage/storageAccounts/tableServices/tables"
APP_INSIGHTS = "Microsoft.Insights/components"

_DATA_ROLES = {
    ("modules/communication.bicep", ACS_ROLE, ACS),
    ("modules/storage.bicep", BLOB_OWNER, ACCOUNT),
    ("modules/storage.bicep", QUEUE_CONTRIBUTOR, ACCOUNT),
    ("modules/storage.bicep", TABLE_CONTRIBUTOR, TABLE),
}
INTENDED_ROLES = (
    {RoleAssignment(f, r, s, "appPrincipalId", "ServicePrincipal", False)
     for f, r, s in _DATA_ROLES}
    # The deploying user, only when a principal id is given: the same data roles.
    | {RoleAssignment(f, r, s, "userPrincipalId", "User", True) for f, r, s in _DATA_ROLES}
    | {RoleAssignment("modules/monitoring.bicep", METRICS_PUBLISHER, APP_INSIGHTS,
                      "appPrincipalId", "ServicePrincipal", False)}
)


def _resource(template: Template, resource_type: str) -> Template:
    (resource,) = t.resources_of_type(template, resource_type).values()
    return t.body(resource)


def required_settings(repo_root: Path) -> set[str]:
    read = t.settings_read(repo_root / "shared" / "config" / "settings.py")
    # AzureWebJobsStorage is read only to refuse a key in it; Azure gets the identity form.
    return (read - {"AzureWebJobsStorage"}) | HOST_STORAGE | TELEMETRY


def test_bicep_every_file_parses(infra_dir: Path) -> None:
    files = sorted(infra_dir.rglob("*.bicep"))

    parsed = {path.name: t.parse(path.read_text()) for path in files}

    assert {"main.bicep", "storage.bicep", "functionapp.bicep", "communication.bicep",
            "monitoring.bicep", "identity.bicep"} <= set(parsed)
    assert all(template.get("resources") or template.get("modules") for template in parsed.values())


def test_bicep_parser_broken_template_rejected() -> None:
    with pytest.raises(LarkError):
        t.parse("resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: \n")


def test_templates_no_key_anywhere(repo_root: Path, infra_dir: Path) -> None:
    files = [*infra_dir.rglob("*"), repo_root / "azure.yaml"]

    hits = {str(p): t.key_use(p.read_text()) for p in files if p.is_file()}

    assert {path: found for path, found in hits.items() if found} == {}
    assert len(hits) >= 8


def test_templates_key_use_planted_found() -> None:
    planted = "value: 'AccountKey=${storage.listKeys().keys[0].value}'"

    assert t.key_use(planted) == ["AccountKey", "listKeys"]


def test_templates_app_settings_cover_every_setting(
    repo_root: Path, main: Template, templates: dict[str, Template]
) -> None:
    settings = t.app_settings(main, templates["modules/functionapp.bicep"])

    assert required_settings(repo_root) - set(settings) == set()
    # Only the identity-based host connection: never a connection string (it would hold a key).
    assert "AzureWebJobsStorage" not in settings
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"
    assert settings["AZURE_CLIENT_ID"] == "identityClientId"
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == (
        "Authorization=AAD;ClientId=${identityClientId}"
    )
    assert settings["OTEL_LOGS_EXPORTER"] == "none"


def test_templates_settings_reader_found_in_code(repo_root: Path) -> None:
    read = t.settings_read(repo_root / "shared" / "config" / "settings.py")

    assert {"ACS_ENDPOINT", "AUTH_ISSUER", "AUTH_AUDIENCE", "IDENTITY_TABLE_ENDPOINT"} <= read


def test_templates_missing_setting_detected(repo_root: Path, main: Template,
                                            templates: dict[str, Template]) -> None:
    planted = json.loads(json.dumps(main))
    del planted["modules"]["api"]["config"]["params"]["serviceSettings"]["TOKEN_SCOPES"]

    settings = t.app_settings(planted, templates["modules/functionapp.bicep"])

    assert required_settings(repo_root) - set(settings) == {"TOKEN_SCOPES"}


def test_templates_service_settings_from_parameters_and_resources(main: Template) -> None:
    service = main["modules"]["api"]["config"]["params"]["serviceSettings"]
    declared = set(main["parameters"])

    for name in ("AUTH_ISSUER", "AUTH_AUDIENCE", "AUTH_REQUIRED_SCOPE"):
        assert service[name] in declared
    assert service["ACS_ENDPOINT"]["operator"]["operands"]["operand_1"] == "communication"
    assert service["IDENTITY_TABLE_ENDPOINT"]["operator"]["operands"]["operand_1"] == "storage"
    assert t.param_default(main, "authRequiredScope") == ""
    assert t.param_default(main, "authAudience") is None


def test_templates_every_table_and_queue_created(
    repo_root: Path, main: Template, templates: dict[str, Template]
) -> None:
    created = t.created_storage(main, templates["modules/storage.bicep"])

    assert t.table_names() <= created["tables"]
    assert t.queue_names(repo_root) <= created["queues"]
    # The settings name the same tables the template creates.
    service = main["modules"]["api"]["config"]["params"]["serviceSettings"]
    assert {t.resolve(main, service["IDENTITY_TABLE_NAME"]),
            t.resolve(main, service["SMS_IDEMPOTENCY_TABLE_NAME"])} == t.table_names()


def test_templates_missing_queue_detected(repo_root: Path, main: Template,
                                          templates: dict[str, Template]) -> None:
    planted = json.loads(json.dumps(main))
    planted["variables"]["queueNames"]["value"].remove("sms-outbox-poison")

    created = t.created_storage(planted, templates["modules/storage.bicep"])

    assert t.queue_names(repo_root) - created["queues"] == {"sms-outbox-poison"}


def test_templates_role_assignments_exactly_intended(templates: dict[str, Template]) -> None:
    assert t.role_assignments(templates) == INTENDED_ROLES


def test_templates_broad_role_detected(templates: dict[str, Template]) -> None:
    planted = json.loads(json.dumps(templates))
    storage = planted["modules/storage.bicep"]
    contributor = json.loads(json.dumps(storage["resources"]["appQueue"]))
    contributor["config"].pop("scope")  # the whole resource group
    contributor["config"]["properties"]["roleDefinitionId"]["function"]["parameters"][
        "resource_name_1"] = "b24988ac-6180-42a0-ab88-20f7382dd24c"  # Contributor
    storage["resources"]["contributor"] = contributor

    extra = t.role_assignments(planted) - INTENDED_ROLES

    assert extra == {RoleAssignment("modules/storage.bicep", "b24988ac-6180-42a0-ab88-20f7382dd24c",
                                    "resourceGroup", "appPrincipalId", "ServicePrincipal", False)}


def test_templates_principals_wired_from_identity_and_parameter(main: Template) -> None:
    for module in ("storage", "communication", "monitoring"):
        params = main["modules"][module]["config"]["params"]
        app = params["appPrincipalId"]["operator"]["operands"]
        assert app["operand_1"] == "identity"
        if module != "monitoring":
            assert params["userPrincipalId"] == "principalId"
    assert t.param_default(main, "principalId") == ""


def test_templates_function_app_flex_consumption_python_313(templates: dict[str, Template]) -> None:
    app = templates["modules/functionapp.bicep"]
    plan = _resource(app, "Microsoft.Web/serverfarms")
    site = _resource(app, "Microsoft.Web/sites")
    config = site["properties"]["functionAppConfig"]

    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["properties"]["reserved"] is True
    assert site["kind"] == "functionapp,linux"
    assert config["runtime"] == {"name": "python", "version": "3.13"}
    assert config["deployment"]["storage"]["authentication"] == {
        "type": "UserAssignedIdentity", "userAssignedIdentityResourceId": "identityId"}
    assert site["identity"]["type"] == "UserAssigned"


def test_templates_https_only_and_basic_publishing_off(templates: dict[str, Template]) -> None:
    app = templates["modules/functionapp.bicep"]
    site = _resource(app, "Microsoft.Web/sites")
    policies = t.resources_of_type(app, "Microsoft.Web/sites/basicPublishingCredentialsPolicies")

    assert site["properties"]["httpsOnly"] is True
    assert site["properties"]["siteConfig"]["minTlsVersion"] == "1.2"
    assert site["properties"]["siteConfig"]["ftpsState"] == "Disabled"
    assert {t.body(p)["name"]: t.body(p)["properties"] for p in policies.values()} == {
        "ftp": {"allow": False}, "scm": {"allow": False}}


def test_templates_cors_origins_from_parameter(main: Template,
                                               templates: dict[str, Template]) -> None:
    site = _resource(templates["modules/functionapp.bicep"], "Microsoft.Web/sites")
    passed = main["modules"]["api"]["config"]["params"]["corsAllowedOrigins"]

    assert site["properties"]["siteConfig"]["cors"]["allowedOrigins"] == "corsAllowedOrigins"
    assert "corsAllowedOrigins" in json.dumps(passed)
    assert t.param_default(main, "corsAllowedOrigins") == ""


def test_templates_local_auth_off_everywhere(templates: dict[str, Template]) -> None:
    acs = _resource(templates["modules/communication.bicep"], ACS)
    account = _resource(templates["modules/storage.bicep"], ACCOUNT)
    insights = _resource(templates["modules/monitoring.bicep"], APP_INSIGHTS)

    assert acs["properties"]["disableLocalAuth"] is True
    assert acs["properties"]["dataLocation"] == "dataLocation"
    assert account["properties"]["allowSharedKeyAccess"] is False
    assert account["properties"]["minimumTlsVersion"] == "TLS1_2"
    assert account["properties"]["allowBlobPublicAccess"] is False
    assert insights["properties"]["DisableLocalAuth"] is True


def _int_default(main: Template, name: str) -> int:
    value: Any = t.param_default(main, name)
    return int(value)


def test_templates_scale_within_acs_limits(repo_root: Path, main: Template,
                                           templates: dict[str, Template]) -> None:
    """The arithmetic in README "Scale against ACS limits", kept true by the defaults."""
    site = _resource(templates["modules/functionapp.bicep"], "Microsoft.Web/sites")
    scale = site["properties"]["functionAppConfig"]["scaleAndConcurrency"]
    instances = _int_default(main, "maximumInstanceCount")
    concurrency = _int_default(main, "httpPerInstanceConcurrency")
    queues = json.loads((repo_root / "host.json").read_text())["extensions"]["queues"]

    assert scale["maximumInstanceCount"] == "maximumInstanceCount"
    assert scale["triggers"]["http"]["perInstanceConcurrency"] == "httpPerInstanceConcurrency"
    # Token issues: at most instances x concurrency calls in flight, each at least one ACS round
    # trip (taken as 0.48 s); ACS allows 1,000 issues per 30 s per resource.
    assert instances * concurrency / 0.48 <= 1000 / 30
    # SMS: one queue message in flight per instance (batchSize 1, no early next batch), so
    # the app sends at most `instances` requests at once.
    assert queues["batchSize"] == 1 and queues["newBatchThreshold"] == 0
    assert instances * (queues["batchSize"] + queues["newBatchThreshold"]) <= 2


def test_azure_yaml_deploys_folder_as_python_function(repo_root: Path) -> None:
    project = yaml.safe_load((repo_root / "azure.yaml").read_text())

    assert project["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}
    assert project["services"]["api"] == {"project": ".", "language": "python", "host": "function"}


def test_main_parameters_from_azd_environment(infra_dir: Path, main: Template) -> None:
    values = {name: p["value"] for name, p in
              json.loads((infra_dir / "main.parameters.json").read_text())["parameters"].items()}
    declared = main["parameters"]
    without_default = {name for name, p in declared.items() if p.get("default") is None}

    assert values["environmentName"] == "${AZURE_ENV_NAME}"
    assert values["location"] == "${AZURE_LOCATION}"
    assert values["principalId"] == "${AZURE_PRINCIPAL_ID}"
    assert set(values) <= set(declared)
    assert without_default <= set(values)
    assert main["globals"]["scope"]["value"] == "subscription"


def _repeated_decorators(template: Template) -> dict[str, list[str]]:
    """Declarations carrying the same decorator twice: Bicep refuses them (BCP166), so such a
    template parses here but fails `bicep build` and `azd up`."""
    repeated = {}
    for section in ("parameters", "variables", "resources", "modules", "outputs"):
        for name, declaration in template.get(section, {}).items():
            kinds = [d["type"] for d in declaration.get("decorators") or []]
            twice = sorted({kind for kind in kinds if kinds.count(kind) > 1})
            if twice:
                repeated[f"{section}.{name}"] = twice
    return repeated


def test_templates_no_decorator_repeated(templates: dict[str, Template]) -> None:
    found = {file: repeated for file, template in templates.items()
             if (repeated := _repeated_decorators(template))}

    assert found == {}


def test_templates_repeated_decorator_planted_detected() -> None:
    planted = t.parse("@minValue(1)\n@maxValue(10)\n@minValue(1)\nparam count int = 2\n")

    assert _repeated_decorators(planted) == {"parameters.count": ["min_value"]}


def test_templates_sms_max_recipients_bounds_match_settings(main: Template) -> None:
    decorators = main["parameters"]["smsMaxRecipients"]["decorators"]

    bounds = [(d["type"], d["argument"]) for d in decorators if d["type"] != "description"]

    assert bounds == [("min_value", 1), ("max_value", SMS_MAX_RECIPIENTS_LIMIT)]
