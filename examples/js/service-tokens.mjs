// The calls a JavaScript app makes to this service, one module for the Node example
// (examples/node/chat.mjs) and the web client (examples/web, bundled by esbuild): a credential
// whose refresher gets the user's ACS tokens, then sign out everywhere and delete my account.
import { AzureCommunicationTokenCredential } from "@azure/communication-common";

// [START service_tokens]
/** A credential whose refresher gets the signed-in user's ACS token from the service. */
export function serviceTokens(functionsUrl, signIn, { scopes = ["chat"], token } = {}) {
  const user = { id: "", refreshes: 0 };
  const tokenRefresher = async () => {
    const response = await fetch(`${functionsUrl}/api/token`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${await signIn()}`,
        "Content-Type": "application/json",
      },
      body: JSON.stringify({ scopes }),
    });
    if (!response.ok) {
      throw new Error(`POST /api/token answered ${response.status}`);
    }
    const issued = await response.json();
    user.id = issued.communicationUserId;
    user.refreshes += 1;
    return issued.token;
  };
  // Without a first `token` (one saved from an earlier session) the refresher runs at
  // once; either way it runs again shortly before each token expires.
  const credential = new AzureCommunicationTokenCredential({
    tokenRefresher,
    token,
    refreshProactively: true,
  });
  return { credential, user };
}
// [END service_tokens]

// [START sign_out]
/** Sign out everywhere: every ACS token the user holds stops working; the identity stays. */
export async function signOutEverywhere(functionsUrl, signInToken) {
  const response = await fetch(`${functionsUrl}/api/identities/me/revoke`, {
    method: "POST",
    headers: { Authorization: `Bearer ${signInToken}` },
  });
  if (response.status !== 204) {
    throw new Error(`POST /api/identities/me/revoke answered ${response.status}`);
  }
}

/** Delete my account: the user's ACS identity and the service's records of it (idempotent). */
export async function deleteMyIdentity(functionsUrl, signInToken) {
  const response = await fetch(`${functionsUrl}/api/identities/me`, {
    method: "DELETE",
    headers: { Authorization: `Bearer ${signInToken}` },
  });
  if (response.status !== 204) {
    throw new Error(`DELETE /api/identities/me answered ${response.status}`);
  }
}
// [END sign_out]
