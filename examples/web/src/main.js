// The example web client: signs in at the development issuer, gets ACS tokens from the
// service's POST /api/token, chats through ACS with the official Chat SDK, and can sign the
// user out everywhere or delete the account. Every call is cross-origin: the issuer, the
// functions and ACS allow this origin by CORS. Bundled by build.mjs (esbuild).
import { ChatClient } from "@azure/communication-chat";
import { signInAs } from "../../js/dev-sign-in.mjs";
import { deleteMyIdentity, serviceTokens, signOutEverywhere } from "../../js/service-tokens.mjs";

const settings = new URLSearchParams(window.location.search);
const functionsUrl = (settings.get("functions") ?? "http://localhost:7071").replace(/\/+$/, "");
const acsEndpoint = (settings.get("acs") ?? "").replace(/\/+$/, "");
const issuer = (settings.get("issuer") ?? "").replace(/\/+$/, "");

const $ = (id) => document.getElementById(id);
const app = { appToken: "", tokens: null, chat: null, thread: null };

function status(text, failed = false, code = "") {
  $("status").textContent = text;
  $("status").className = failed ? "error" : "";
  $("status").dataset.code = code;
}

async function showMessages() {
  const list = $("messages");
  const items = [];
  for await (const message of app.thread.listMessages({ maxPageSize: 2 })) {
    if (message.type === "text") {
      const item = document.createElement("li");
      item.dataset.sender = message.sender.communicationUserId;
      item.textContent = message.content.message;
      items.push(item);
    }
  }
  list.replaceChildren(...items.reverse());
}

const actions = {
  async signin() {
    const appToken = await signInAs(issuer, $("user").value);
    app.appToken = appToken;
    app.tokens?.credential.dispose();
    app.tokens = serviceTokens(functionsUrl, async () => appToken);
    await app.tokens.credential.getToken();
    app.chat = new ChatClient(acsEndpoint, app.tokens.credential);
    $("me").textContent = app.tokens.user.id;
    $("me").dataset.refreshes = String(app.tokens.user.refreshes);
    return "signed in";
  },
  async start() {
    const { chatThread } = await app.chat.createChatThread({ topic: "Web chat" });
    app.thread = app.chat.getChatThreadClient(chatThread.id);
    await app.thread.addParticipants({
      participants: [{ id: { communicationUserId: $("other").value } }],
    });
    $("thread").value = chatThread.id;
    await showMessages();
    return `thread ${chatThread.id}`;
  },
  async open() {
    app.thread = app.chat.getChatThreadClient($("thread").value);
    await showMessages();
    return `thread ${app.thread.threadId}`;
  },
  async send() {
    await app.thread.sendMessage({ content: $("message").value });
    $("message").value = "";
    await showMessages();
    return "sent";
  },
  async refresh() {
    await showMessages();
    return "refreshed";
  },
  // This device's credential still holds the revoked token: sign in again for a new one.
  async signout() {
    await signOutEverywhere(functionsUrl, app.appToken);
    return "signed out everywhere";
  },
  async delete() {
    await deleteMyIdentity(functionsUrl, app.appToken);
    return "account deleted";
  },
};

for (const [id, action] of Object.entries(actions)) {
  $(id).addEventListener("click", async () => {
    status("working");
    try {
      status(await action());
    } catch (error) {
      status(`error: ${error?.message ?? error}`, true, String(error?.statusCode ?? ""));
    }
  });
}
status("ready");
