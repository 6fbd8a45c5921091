// Two users chat through ACS with tokens from this service's POST /api/token.
//
// Settings come from the environment: FUNCTIONS_URL, ACS_ENDPOINT and AUTH_ISSUER (the local
// issuer's development mint endpoint signs the users in). With the emulator, set
// NODE_EXTRA_CA_CERTS to its CA file. The script prints one JSON line per event: the chat,
// then what Alice's chat calls answer after she signs out everywhere and deletes her account.
import { ChatClient } from "@azure/communication-chat";
import { signInAs } from "../js/dev-sign-in.mjs";
import { deleteMyIdentity, serviceTokens, signOutEverywhere } from "../js/service-tokens.mjs";

function setting(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`set ${name}`);
  }
  return value.replace(/\/+$/, "");
}

function emit(event) {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/** The HTTP status a chat call answers: 200 when it works. */
async function statusOf(call) {
  try {
    await call();
    return 200;
  } catch (error) {
    return error.statusCode ?? -1;
  }
}

async function startChat(chat, topic, other, myName) {
  const { chatThread } = await chat.createChatThread({ topic });
  const thread = chat.getChatThreadClient(chatThread.id);
  await thread.addParticipants({ participants: [{ id: { communicationUserId: other } }] });
  await thread.sendMessage({ content: "Hello!" }, { senderDisplayName: myName });
  return thread;
}

async function texts(thread) {
  const found = [];
  for await (const page of thread.listMessages({ maxPageSize: 2 }).byPage()) {
    for (const message of page) {
      if (message.type === "text") {
        found.push({ sender: message.sender.communicationUserId, text: message.content.message });
      }
    }
  }
  return found.reverse();
}

async function main() {
  const functionsUrl = setting("FUNCTIONS_URL");
  const acsEndpoint = setting("ACS_ENDPOINT");
  const issuer = setting("AUTH_ISSUER");
  const suffix = Math.random().toString(16).slice(2, 10);
  const aliceSignIn = await signInAs(issuer, `node-alice-${suffix}`);
  const bobSignIn = await signInAs(issuer, `node-bob-${suffix}`);
  const alice = serviceTokens(functionsUrl, async () => aliceSignIn);
  const bob = serviceTokens(functionsUrl, async () => bobSignIn);
  const later = [];
  try {
    await Promise.all([alice.credential.getToken(), bob.credential.getToken()]);
    const aliceChat = new ChatClient(acsEndpoint, alice.credential);
    const bobChat = new ChatClient(acsEndpoint, bob.credential);

    const alicesThread = await startChat(aliceChat, "Lunch", bob.user.id, "Alice");
    const bobsThread = await startChat(bobChat, "Football", alice.user.id, "Bob");
    const seenByBob = bobChat.getChatThreadClient(alicesThread.threadId);
    await seenByBob.sendMessage({ content: "Hi Alice, noon works" }, { senderDisplayName: "Bob" });
    const participants = [];
    for await (const participant of seenByBob.listParticipants()) {
      participants.push(participant.id.communicationUserId);
    }
    const bobsThreads = [];
    for await (const item of bobChat.listChatThreads()) {
      bobsThreads.push(item.id);
    }
    emit({
      event: "chatted",
      alice: alice.user.id,
      bob: bob.user.id,
      threads: [alicesThread.threadId, bobsThread.threadId],
      bobsThreads,
      participants,
      messages: await texts(alicesThread),
      topic: (await bobsThread.getProperties()).topic,
      refreshes: { alice: alice.user.refreshes, bob: bob.user.refreshes },
    });

    // Alice signs out everywhere: the token her credential holds is refused from now on.
    await signOutEverywhere(functionsUrl, aliceSignIn);
    const afterSignOut = await statusOf(() => alicesThread.getProperties());
    // Signed in again, a new credential gets a new token for the same identity, which works.
    const again = serviceTokens(functionsUrl, async () => aliceSignIn);
    later.push(again);
    const againThread = new ChatClient(acsEndpoint, again.credential)
      .getChatThreadClient(alicesThread.threadId);
    const afterNewToken = await statusOf(() => againThread.getProperties());
    // Alice deletes her account: her identity is gone, so even that newer token is refused.
    await deleteMyIdentity(functionsUrl, aliceSignIn);
    const afterDelete = await statusOf(() => againThread.getProperties());
    // Should she come back, /api/token gives her a new, unrelated identity, which chats.
    const back = serviceTokens(functionsUrl, async () => aliceSignIn);
    later.push(back);
    const { chatThread } = await new ChatClient(acsEndpoint, back.credential)
      .createChatThread({ topic: "After delete" });
    emit({
      event: "lifecycle",
      user: alice.user.id,
      afterSignOut,
      afterNewToken,
      sameIdentity: again.user.id,
      afterDelete,
      newIdentity: back.user.id,
      newThreadCreatedBy: chatThread.createdBy.communicationUserId,
    });
  } finally {
    // Proactive refresh keeps a timer: dispose the credentials so the process can end.
    for (const tokens of [alice, bob, ...later]) {
      tokens.credential.dispose();
    }
  }
}

main().catch((error) => {
  emit({ event: "error", message: String(error?.message ?? error) });
  process.exitCode = 1;
});
