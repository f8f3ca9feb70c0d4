import { ConfabError, ErrorCode } from '@confab/protocol';
import { verifyUserSig } from '../../auth/usersig.js';
import type { AppRecord } from '../../storage/types.js';
import type { Domain } from '../../services/domain.js';

/**
 * The code a non-admin `identifier` gets, per service: the reference's conversation
 * commands document 50003 ("admin required") where the others answer 60010.
 */
const ADMIN_REQUIRED_BY_SERVICE: Record<string, number> = {
  recentcontact: ErrorCode.CONV_ADMIN_REQUIRED,
};

/**
 * Checks the query string of a REST call, the reference's way:
 * `?sdkappid=&identifier=&usersig=&random=&contenttype=json`.
 *
 * Order: the URL's shape first (60002), then the app (60006), the admin identifier
 * (60010, or the service's own code) and last the UserSig (70001/70002/70003/70009/70013/70014, as
 * `verifyUserSig` reports them). Nothing about the app is revealed before the
 * signature check except whether the SDKAppID exists and who its admin is not,
 * which the reference discloses the same way.
 *
 * Lenient where the reference is: `random` may be left out (the reference's older
 * server SDKs send none) and may be any unsigned decimal up to 20 digits (some SDKs
 * send a 64-bit value); `contenttype` may be left out.
 */
export async function authenticate(domain: Domain, url: URL, service = ''): Promise<AppRecord> {
  const q = url.searchParams;
  const sdkappid = q.get('sdkappid');
  if (sdkappid === null || !/^[1-9][0-9]{0,14}$/.test(sdkappid)) {
    throw new ConfabError(ErrorCode.REST_BAD_URL, 'sdkappid is missing or not a positive integer');
  }
  const identifier = q.get('identifier');
  if (identifier === null || identifier === '') throw new ConfabError(ErrorCode.REST_BAD_URL, 'identifier is missing');
  const random = q.get('random');
  if (random !== null && !/^[0-9]{1,20}$/.test(random)) {
    throw new ConfabError(ErrorCode.REST_BAD_URL, 'random must be an unsigned integer');
  }
  const contenttype = q.get('contenttype');
  if (contenttype !== null && contenttype !== 'json') throw new ConfabError(ErrorCode.REST_BAD_URL, 'contenttype must be json');

  const app = await domain.apps.get(Number(sdkappid));
  if (!app) throw new ConfabError(ErrorCode.REST_INVALID_SDKAPPID, `SDKAppID ${sdkappid} does not exist on this server`);
  if (identifier !== app.adminUserID) {
    throw new ConfabError(ADMIN_REQUIRED_BY_SERVICE[service] ?? ErrorCode.REST_ADMIN_REQUIRED, 'identifier must be the app admin account');
  }
  verifyUserSig({ sdkAppID: app.sdkAppID, secretKey: app.secretKey, userID: identifier, userSig: q.get('usersig') ?? '' });
  return app;
}
