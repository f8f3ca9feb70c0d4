/**
 * Two users, friends, a one-to-one chat and a group chat, against a running server.
 *
 *   npm start                      # in another terminal; note the SDKAppID it prints
 *   CONFAB_SDKAPPID=<id> node --import tsx examples/quickstart.ts
 *
 * Set CONFAB_DATA_DIR when the server runs with another --data folder.
 *
 * The UserSigs are computed here from the app's secret key read from the server's data
 * folder, which only a development setup may do: in production the app's back end
 * computes them (docs/usersig.md).
 */
import { execFileSync } from 'node:child_process';
import { V2TIMManager } from '@confab/sdk';

const sdkAppID = Number(process.env.CONFAB_SDKAPPID);
const serverUrl = process.env.CONFAB_URL ?? 'ws://127.0.0.1:8080/ws';
if (!sdkAppID) throw new Error('set CONFAB_SDKAPPID to the SDKAppID printed by `npm start`');

function userSig(userID: string): string {
  return execFileSync('node', ['packages/server/dist/cli.js', 'usersig', '--sdkappid', String(sdkAppID), '--user', userID, '--data', process.env.CONFAB_DATA_DIR ?? '.confab-data'], { encoding: 'utf8' }).trim();
}

async function user(userID: string): Promise<V2TIMManager> {
  const im = new V2TIMManager();
  im.initSDK(sdkAppID, { serverUrl, logLevel: 'warn' });
  im.getMessageManager().addAdvancedMsgListener({
    onRecvNewMessage: (m) => console.log(`[${userID}] ${m.sender} → ${m.conversationID}: ${m.textElem?.text}`),
  });
  await im.login(userID, userSig(userID));
  return im;
}

const alice = await user('alice');
const bob = await user('bob');
await alice.getFriendshipManager().addFriend({ userID: 'bob', friendRemark: 'Bob' });
await alice.sendC2CTextMessage('Hi Bob!', 'bob');
const groupID = await alice.createGroup('Work', null, 'Project');
await alice.getGroupManager().inviteUserToGroup(groupID, ['bob']);
await bob.sendGroupTextMessage('Hello team', groupID, 0);
await new Promise((r) => setTimeout(r, 300));
const list = await bob.getConversationManager().getConversationList(0, 20);
for (const c of list.conversationList) console.log(`bob's list: ${c.conversationID} unread=${c.unreadCount} last="${c.lastMessage?.textElem?.text ?? ''}"`);
await alice.logout();
await bob.logout();
