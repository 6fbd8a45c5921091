// The Azure Communication Services resource, with local (access key) authentication
// disabled: only Entra ID tokens of principals holding a role on it are accepted.
param name string
param dataLocation string
param tags object
param appPrincipalId string

@description('The deploying user, granted the same role as the app; empty grants nothing.')
param userPrincipalId string = ''

// Contributor (b24988ac-6180-42a0-ab88-20f7382dd24c), on this resource only: the built-in
// role Microsoft documents for Entra ID calls to the Identity and SMS APIs
// (https://learn.microsoft.com/azure/communication-services/quickstarts/identity/service-principal).
// ACS is reported not to honour custom roles, and no narrower built-in role is documented for
// these APIs; scoped to the one resource, it reaches nothing else. Its key-listing action
// yields no working key while local auth is disabled below; it can also write (re-enable local
// auth) and delete this resource, which README.md "Role assignments" says how to watch.
var contributor = 'b24988ac-6180-42a0-ab88-20f7382dd24c'

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
  name: guid(acs.id, appPrincipalId, contributor)
  scope: acs
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', contributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource userAcs 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(acs.id, userPrincipalId, contributor)
  scope: acs
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', contributor)
    principalId: userPrincipalId
    principalType: 'User'
  }
}

output name string = acs.name
output endpoint string = 'https://${acs.properties.hostName}'
