/**
 * The reference's "Delete Conversations" sample, in TypeScript, against a running
 * server: Alice chats with Bob, then deletes the conversation. It is gone from her
 * device and, for her, from the server; Bob keeps his copy.
 *
 *   npm start                      # in another terminal; note the SDKAppID it prints
 *   CONFAB_SDKAPPID=<id> node --import tsx examples/delete-conversation.ts
 *
 * Set CONFAB_DATA_DIR when the server runs with another --data folder.
 */
import { execFileSync } from 'node:child_process';
import { V2TIMManager } from '@confab/sdk';

const sdkAppID = Number(process.env.CONFAB_SDKAPPID);
const serverUrl = process.env.CONFAB_URL ?? 'ws://127.0.0.1:8080/ws';
if (!sdkAppID) throw new Error('set CONFAB_SDKAPPID to the SDKAppID printed by `npm start`');

// Development only: a production app gets UserSigs from its back end (docs/usersig.md).
function userSig(userID: string): string {
  return execFileSync('node', ['packages/server/dist/cli.js', 'usersig', '--sdkappid', String(sdkAppID), '--user', userID,
    '--data', process.env.CONFAB_DATA_DIR ?? '.confab-data'], { encoding: 'utf8' }).trim();
}

async function login(userID: string): Promise<V2TIMManager> {
  const im = new V2TIMManager();
  im.initSDK(sdkAppID, { serverUrl, logLevel: 'warn' });
  await im.login(userID, userSig(userID));
  return im;
}

const alice = await login('alice');
const bob = await login('bob');
await bob.sendC2CTextMessage('Hi Alice, this will be deleted on your side only.', 'alice');
await new Promise((r) => setTimeout(r, 200));

// The seed sample, as written for the reference SDK:
const conversationID = 'c2c_bob';
await alice.getConversationManager().deleteConversation(conversationID, {
  onSuccess() {
    console.log('success');
  },
  onError(code, desc) {
    console.log(`failure, code:${code}, desc:${desc}`);
  },
});

const aliceList = await alice.getConversationManager().getConversationList(0, 20);
const aliceHistory = await alice.getMessageManager().getC2CHistoryMessageList('bob', 20, null);
const bobHistory = await bob.getMessageManager().getC2CHistoryMessageList('alice', 20, null);
console.log(`alice: ${aliceList.conversationList.length} conversations, ${aliceHistory.length} messages with bob`);
console.log(`bob:   ${bobHistory.length} message(s) with alice, unaffected`);
await alice.logout();
await bob.logout();
