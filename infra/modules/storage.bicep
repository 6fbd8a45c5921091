// One storage account for the Functions host, the deployment packages, the service's tables
// and the SMS queues. Shared keys are disabled: every caller signs in with Entra ID.
param name string
param location string
param tags object
param deploymentContainerName string
param tableNames array
param queueNames array
param appPrincipalId string

@description('The deploying user, granted the same data roles as the app; empty grants nothing.')
param userPrincipalId string = ''

// Storage Blob Data Owner: the Functions host keeps its leases, timers and state in containers
// it creates itself (azure-webjobs-hosts, azure-webjobs-secrets), so it needs the account;
// Microsoft documents Owner for an identity-based AzureWebJobsStorage. The same assignment
// covers the Flex Consumption deployment container, which needs no second one.
var blobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
// Storage Queue Data Contributor: the queue triggers read and delete messages, the output
// bindings add them, and the host creates a trigger's -poison queue when it first needs it.
// Granted on the account because the host may create that queue itself.
var queueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
// Storage Table Data Contributor: the identity map and SMS idempotency records. Narrowed to
// each table: the tables are created here, and the service treats a refused create as
// "the table exists" (shared/clients/tables.py), so it never needs the account.
var tableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  //checkov:skip=CKV_AZURE_35:Flex Consumption without virtual network integration reaches its storage over the public endpoint; every request needs an Entra token (shared keys are off)
  //checkov:skip=CKV_AZURE_59:Same reason as CKV_AZURE_35; private endpoints need virtual network integration, a larger deployment with a cost at rest
  //checkov:skip=CKV_AZURE_206:LRS keeps the cost at rest minimal; the tables hold the identity map and short-lived idempotency records (pick Standard_ZRS or GZRS if losing a region's copy of the identity map matters)
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [for table in tableNames: {
  parent: tableService
  name: table
}]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for queue in queueNames: {
  parent: queueService
  name: queue
}]

resource appBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appPrincipalId, blobDataOwner)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataOwner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appPrincipalId, queueDataContributor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (table, i) in tableNames: {
  name: guid(tables[i].id, appPrincipalId, tableDataContributor)
  scope: tables[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}]

resource userBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(account.id, userPrincipalId, blobDataOwner)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataOwner)
    principalId: userPrincipalId
    principalType: 'User'
  }
}

resource userQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(account.id, userPrincipalId, queueDataContributor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueDataContributor)
    principalId: userPrincipalId
    principalType: 'User'
  }
}

resource userTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (table, i) in (empty(userPrincipalId) ? [] : tableNames): {
  name: guid(tables[i].id, userPrincipalId, tableDataContributor)
  scope: tables[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributor)
    principalId: userPrincipalId
    principalType: 'User'
  }
}]

output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
