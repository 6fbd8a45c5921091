// The Flex Consumption (FC1) Linux function app on Python 3.13. It runs as the user-assigned
// identity for everything: host storage, the deployment package, Application Insights, ACS
// and the tables. HTTPS only, FTP and SCM basic publishing credentials off.
param name string
param planName string
param location string
param tags object
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerName string
param appInsightsName string
param corsAllowedOrigins array
param maximumInstanceCount int
param httpPerInstanceConcurrency int
param instanceMemoryMB int

@description('The service\'s own settings (shared/config/settings.py), merged with the host settings.')
param serviceSettings object

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  //checkov:skip=CKV_AZURE_225:Zone redundancy for Flex Consumption is offered in some regions only; the template stays deployable in every Flex Consumption region
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  //checkov:skip=CKV_AZURE_222:A public API for mobile and web apps; every call must carry a valid Entra token, checked by the service
  //checkov:skip=CKV_AZURE_17:Callers are mobile apps, browsers and backends authenticated by bearer tokens; they hold no client certificates
  //checkov:skip=CKV_AZURE_212:Flex Consumption scales from zero on demand; always-ready instances would bill while idle
  //checkov:skip=CKV_AZURE_213:Instances run only while there is work; failures and availability are watched in Application Insights
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      cors: {
        allowedOrigins: corsAllowedOrigins
        supportCredentials: false
      }
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'python'
        version: '3.13'
      }
    }
  }
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  //checkov:skip=CKV_AZURE_13:The service validates every caller's Entra token itself (issuer, audience, scope, app roles per route); App Service Authentication would duplicate it
  //checkov:skip=CKV_AZURE_63:App Service web server logs do not apply to Flex Consumption; requests and failures go to Application Insights through the host
  //checkov:skip=CKV_AZURE_65:Same as CKV_AZURE_63 (web server detailed error pages); error bodies are problem+json without internals
  //checkov:skip=CKV_AZURE_66:Same as CKV_AZURE_63 (web server failed request tracing)
  //checkov:skip=CKV_AZURE_80:The app runs Python 3.13, not .NET
  //checkov:skip=CKV_AZURE_88:Flex Consumption runs from a blob deployment package and has no Azure Files content share
  //checkov:skip=CKV_AZURE_222:These are app settings, not network settings; public access is justified on the site
  parent: site
  name: 'appsettings'
  properties: union(serviceSettings, {
    // Identity-based host storage: no connection string, the user-assigned identity's token.
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
    AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
    AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
    // The service's own credential (shared/clients/credential.py) picks this identity.
    AZURE_CLIENT_ID: identityClientId
    // The host (telemetryMode OpenTelemetry in host.json) and the worker's exporter
    // (shared/clients/telemetry.py) both authenticate to Application Insights with Entra ID.
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'
    // The host forwards worker logs already; the worker exports traces and metrics only.
    OTEL_LOGS_EXPORTER: 'none'
  })
}

resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = site.name
output uri string = 'https://${site.properties.defaultHostName}'
