// Test driver for tests/e2e/test_chat_node.py: the examples' serviceTokens starting from
// a saved token that is about to expire. Prints one JSON line: when the credential refreshed
// on its own (through the service), and whether chat then works with the new token.
import { ChatClient } from "@azure/communication-chat";
import { serviceTokens } from "../../examples/js/service-tokens.mjs";

const { FUNCTIONS_URL, ACS_ENDPOINT, SIGN_IN_TOKEN, STALE_TOKEN } = process.env;
const started = Date.now();
const user = serviceTokens(FUNCTIONS_URL, async () => SIGN_IN_TOKEN, { token: STALE_TOKEN });
try {
  while (user.user.refreshes === 0 && Date.now() - started < 30000) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const refreshedAfterMs = Date.now() - started;
  const current = await user.credential.getToken();
  const chat = new ChatClient(ACS_ENDPOINT, user.credential);
  const { chatThread } = await chat.createChatThread({ topic: "After a refresh" });
  process.stdout.write(`${JSON.stringify({
    refreshes: user.user.refreshes,
    refreshedAfterMs,
    tokenChanged: current.token !== STALE_TOKEN,
    expiresInMs: current.expiresOnTimestamp - Date.now(),
    createdBy: chatThread.createdBy.communicationUserId,
  })}\n`);
} finally {
  user.credential.dispose();
}
