// Development sign-in for the examples: the local issuer's mint endpoint signs a user in. A real
// app signs its users in with its own identity provider instead.

/** The local issuer mints an app-user token for `sub`. */
export async function signInAs(issuer, sub) {
  const response = await fetch(`${issuer}/token`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sub }),
  });
  if (!response.ok) {
    throw new Error(`the issuer answered ${response.status}`);
  }
  return (await response.json()).access_token;
}
