import { ConfabError, ErrorCode } from '@confab/protocol';
import type { HttpContext } from '../areas.js';
import type { Router } from '../router.js';
import { accountCheck, accountImport, kick, multiAccountImport, queryOnlineStatus } from './account.js';
import { authenticate } from './auth.js';
import { MAX_REST_BODY_BYTES, readRestBody } from './body.js';
import { sendError, sendFail, sendOk, type RestCommand } from './envelope.js';
import { isObject } from './fields.js';
import {
  addGroupMember, createGroup, deleteGroupMember, destroyGroup, getGroupInfo, getGroupMemberInfo, getJoinedGroupList, sendGroupMsg,
} from './group.js';
import { batchSendMsg, sendMsg } from './openim.js';
import { adminGetRoamMsg, getC2CUnreadMsgNum } from './roam.js';
import { portraitGet, portraitSet } from './profile.js';
import { friendAdd, friendCheck, friendDelete, friendGet } from './sns.js';
import { adminMsgWithdraw, deleteC2CMsgRamble, deleteGroupMsgBySender, groupMsgRecall, modifyC2CMsg, modifyGroupMsg } from './message-changes.js';
import { adminSetMsgRead, getGroupMsgReceipt } from './read-state.js';
import { batchDeleteContacts, deleteContact, getList } from './recentcontact.js';

/** `<servicename>/<command>` → handler. Names are the reference's, case-sensitive. */
const commands = new Map<string, RestCommand>([
  ['im_open_login_svc/account_import', accountImport],
  ['im_open_login_svc/multiaccount_import', multiAccountImport],
  ['im_open_login_svc/account_check', accountCheck],
  ['im_open_login_svc/kick', kick],
  ['openim/query_online_status', queryOnlineStatus],
  ['openim/sendmsg', sendMsg],
  ['openim/batchsendmsg', batchSendMsg],
  ['openim/admin_getroammsg', adminGetRoamMsg],
  ['openim/get_c2c_unread_msg_num', getC2CUnreadMsgNum],
  ['openim/admin_msgwithdraw', adminMsgWithdraw],
  ['openim/modify_c2c_msg', modifyC2CMsg],
  ['openim/delete_c2c_msg_ramble', deleteC2CMsgRamble],
  ['group_open_http_svc/group_msg_recall', groupMsgRecall],
  ['group_open_http_svc/modify_group_msg', modifyGroupMsg],
  ['group_open_http_svc/delete_group_msg_by_sender', deleteGroupMsgBySender],
  ['openim/admin_set_msg_read', adminSetMsgRead],
  ['group_open_http_svc/get_group_msg_receipt', getGroupMsgReceipt],
  ['recentcontact/get_list', getList],
  ['recentcontact/delete', deleteContact],
  ['recentcontact/batch_delete', batchDeleteContacts],
  ['profile/portrait_get', portraitGet],
  ['profile/portrait_set', portraitSet],
  ['sns/friend_add', friendAdd],
  ['sns/friend_delete', friendDelete],
  ['sns/friend_get', friendGet],
  ['sns/friend_check', friendCheck],
  ['group_open_http_svc/create_group', createGroup],
  ['group_open_http_svc/get_group_info', getGroupInfo],
  ['group_open_http_svc/add_group_member', addGroupMember],
  ['group_open_http_svc/delete_group_member', deleteGroupMember],
  ['group_open_http_svc/destroy_group', destroyGroup],
  ['group_open_http_svc/get_joined_group_list', getJoinedGroupList],
  ['group_open_http_svc/get_group_member_info', getGroupMemberInfo],
  ['group_open_http_svc/send_group_msg', sendGroupMsg],
]);

/**
 * The reference's server REST API: `POST /v4/<servicename>/<command>?sdkappid=&identifier=&usersig=&random=&contenttype=json`
 * with a JSON body. Every answer, success or failure, is HTTP 200 with the
 * `ActionStatus` envelope. See docs/rest-api.md.
 */
export function registerRestApi(router: Router, { domain, logger }: HttpContext): void {
  const log = logger.child({ area: 'rest' });
  router.prefix('POST', '/v4/', async (req, res, url) => {
    try {
      const app = await authenticate(domain, url, url.pathname.slice('/v4/'.length).split('/')[0]);
      const command = commands.get(url.pathname.slice('/v4/'.length));
      if (!command) throw new ConfabError(ErrorCode.REST_BAD_URL, `unknown REST command ${url.pathname}`);
      const read = await readRestBody(req);
      if (read.kind === 'aborted') return;
      if (read.kind === 'tooLarge') {
        sendFail(res, ErrorCode.PACKET_TOO_LARGE, `request body is larger than ${MAX_REST_BODY_BYTES} bytes`,
          read.drained ? {} : { connection: 'close' });
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(read.text);
      } catch {
        throw new ConfabError(ErrorCode.REST_INVALID_JSON, 'request body is not valid JSON');
      }
      if (!isObject(body)) throw new ConfabError(ErrorCode.REST_INVALID_JSON, 'request body must be a JSON object');
      // The router waited for a pending message sync before the body arrived; batches that
      // committed while it was read may still be on their way to disk (Storage.readBarrier).
      const barrier = domain.storage.readBarrier?.();
      if (barrier) await barrier;
      sendOk(res, await command({ domain, app, logger: log }, body));
    } catch (err) {
      if (!res.headersSent) sendError(res, err, log);
    }
  });
  for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
    router.prefix(method, '/v4/', (_req, res) => sendFail(res, ErrorCode.REST_BAD_URL, 'the REST API takes POST requests'));
  }
}
