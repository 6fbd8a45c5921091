// The trusted user access service for Azure Communication Services, in one resource group:
// a user-assigned identity, ACS with keys disabled, storage with shared keys disabled,
// Log Analytics and Application Insights with local auth disabled, and a Flex Consumption
// function app that reaches all of them with that identity. No key is created or read.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names and tags every resource.')
param environmentName string

@minLength(1)
@description('Region of every regional resource. Pick one that offers the Flex Consumption plan (az functionapp list-flexconsumption-locations).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the deploying user (azd sets AZURE_PRINCIPAL_ID). When set, that user gets the same data roles as the app, for `func start` against these resources. Leave empty to grant nothing.')
param principalId string = ''

@description('Where ACS stores its data at rest, for example United States, Europe, UK, Australia, Japan.')
param acsDataLocation string = 'United States'

@description('Issuer of the app-user tokens the service accepts (AUTH_ISSUER). The default is this tenant\'s Entra ID v2.0 issuer, which needs accessTokenAcceptedVersion 2 on the API registration.')
param authIssuer string = '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'

@minLength(1)
@description('Accepted audience(s) of app-user tokens, comma-separated (AUTH_AUDIENCE): the API registration\'s Application ID URI and/or client id.')
param authAudience string

@description('Delegated scope a caller\'s token must carry in `scp` (AUTH_REQUIRED_SCOPE), for example user_impersonation. Empty: no scope is required.')
param authRequiredScope string = ''

@description('ACS scopes a caller may ask for (TOKEN_SCOPES).')
param tokenScopes string = 'chat,voip'

@minValue(60)
@maxValue(1440)
@description('Default lifetime of an issued ACS token in minutes (TOKEN_EXPIRES_MINUTES).')
param tokenExpiresMinutes int = 60

@description('Sender of SMS (SMS_FROM): a number or sender id of the ACS resource. Empty until you acquire one; /api/sms then answers 503.')
param smsFrom string = ''

@description('App role a SendSms caller\'s token must carry (SMS_SEND_ROLE).')
param smsSendRole string = 'Sms.Send'

@description('App role of identity administrators (IDENTITY_ADMIN_ROLE).')
param identityAdminRole string = 'Identity.Admin'

@minValue(1)
@maxValue(2000)
@description('Most recipients in one SMS request (SMS_MAX_RECIPIENTS).')
param smsMaxRecipients int = 1000

@description('ACS send calls in flight at once for one SMS request (SMS_SEND_CONCURRENCY).')
@minValue(1)
@maxValue(16)
param smsSendConcurrency int = 5

@description('Seconds a worker keeps a caller\'s ACS identity after issuing a token, so a returning user\'s token needs no Table read (IDENTITY_CACHE_SECONDS). 0: read the map every time.')
@minValue(0)
@maxValue(3600)
param identityCacheSeconds int = 300

@description('ISO 3166 regions SMS may go to, comma-separated (SMS_ALLOWED_COUNTRY_CODES). Empty: any.')
param smsAllowedCountryCodes string = ''

@description('Browser origins allowed to call the API, comma-separated without spaces (for example https://app.example.com). Empty: no cross-origin browser calls.')
param corsAllowedOrigins string = ''

// Scale: README.md "Deploy to Azure", "Scale against ACS limits", has the arithmetic.
@minValue(1)
@maxValue(1000)
@description('Most instances the app scales out to.')
param maximumInstanceCount int = 2

@minValue(1)
@maxValue(1000)
@description('Concurrent HTTP requests per instance before the platform adds one.')
param httpPerInstanceConcurrency int = 8

@allowed([512, 2048, 4096])
@description('Memory of each instance in MB.')
param instanceMemoryMB int = 2048

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }

// Names the service reads from its settings (shared/config/settings.py defaults) and binds in
// */function.json; tests/infra checks these lists against both.
var identityTableName = 'AcsIdentities'
var idempotencyTableName = 'SmsIdempotency'
var queueNames = [
  'sms-outbox'
  'sms-outbox-deadletter'
  'sms-outbox-poison'
  'identity-events'
  'identity-events-deadletter'
  'identity-events-poison'
]
var functionAppName = '${abbrs.webSitesFunctions}${resourceToken}'
// One container per app for its deployment packages (Flex Consumption deploys from blob).
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    workspaceName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    appInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    tableNames: [identityTableName, idempotencyTableName]
    queueNames: queueNames
    appPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
  }
}

module communication 'modules/communication.bicep' = {
  name: 'communication'
  scope: rg
  params: {
    name: '${abbrs.communicationServices}${resourceToken}'
    dataLocation: acsDataLocation
    tags: tags
    appPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
  }
}

module api 'modules/functionapp.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: union(tags, { 'azd-service-name': 'api' })
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    appInsightsName: monitoring.outputs.appInsightsName
    corsAllowedOrigins: empty(corsAllowedOrigins) ? [] : split(corsAllowedOrigins, ',')
    maximumInstanceCount: maximumInstanceCount
    httpPerInstanceConcurrency: httpPerInstanceConcurrency
    instanceMemoryMB: instanceMemoryMB
    serviceSettings: {
      ACS_ENDPOINT: communication.outputs.endpoint
      AUTH_ISSUER: authIssuer
      AUTH_AUDIENCE: authAudience
      AUTH_REQUIRED_SCOPE: authRequiredScope
      IDENTITY_TABLE_ENDPOINT: storage.outputs.tableEndpoint
      IDENTITY_TABLE_NAME: identityTableName
      SMS_IDEMPOTENCY_TABLE_NAME: idempotencyTableName
      TOKEN_SCOPES: tokenScopes
      TOKEN_EXPIRES_MINUTES: string(tokenExpiresMinutes)
      SMS_FROM: smsFrom
      SMS_SEND_ROLE: smsSendRole
      SMS_MAX_RECIPIENTS: string(smsMaxRecipients)
      SMS_SEND_CONCURRENCY: string(smsSendConcurrency)
      SMS_ALLOWED_COUNTRY_CODES: smsAllowedCountryCodes
      IDENTITY_ADMIN_ROLE: identityAdminRole
      IDENTITY_CACHE_SECONDS: string(identityCacheSeconds)
      // In-call retry budget for ACS 429/503, well inside functionTimeout (host.json, 2 min).
      ACS_RETRY_SECONDS: '20'
    }
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = api.outputs.uri
output ACS_ENDPOINT string = communication.outputs.endpoint
output IDENTITY_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output AZURE_CLIENT_ID string = identity.outputs.clientId
