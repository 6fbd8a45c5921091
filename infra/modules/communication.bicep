// The Azure Communication Services resource, with local (access key) authentication
// disabled: only Entra ID tokens of principals holding a role on it are accepted.
param name string
param dataLocation string
param tags object
param appPrincipalId string

@description('The deploying user, granted the same role as the app; empty grants nothing.')
param userPrincipalId string = ''

// Communication and Email Service Owner (09976791-48a7-449e-bb21-39d1a415f350), on this
// resource only. Microsoft's Entra ID quickstart for the Identity and SMS SDKs
// (https://learn.microsoft.com/azure/communication-services/quickstarts/identity/service-principal)
// grants the generic Contributor role (b24988ac-6180-42a0-ab88-20f7382dd24c), which allows
// every action on every resource type in its scope; this built-in role
// (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles) holds only
// Microsoft.Communication actions, the narrowest built-in role covering the Identity and SMS
// APIs. Its key-listing action yields nothing usable: local auth is disabled below.
var communicationServiceOwner = '09976791-48a7-449e-bb21-39d1a415f350'

resource acs 'Microsoft.Communication/communicationServices@2025-09-01' = {
  name: name
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
    disableLocalAuth: true
  }
}

resource appAcs 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(acs.id, appPrincipalId, communicationServiceOwner)
  scope: acs
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', communicationServiceOwner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource userAcs 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(acs.id, userPrincipalId, communicationServiceOwner)
  scope: acs
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', communicationServiceOwner)
    principalId: userPrincipalId
    principalType: 'User'
  }
}

output name string = acs.name
output endpoint string = 'https://${acs.properties.hostName}'
