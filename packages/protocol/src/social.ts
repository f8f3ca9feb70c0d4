/**
 * Friendship and group administration as the reference (Tencent Cloud Chat's native
 * V2TIM API) numbers them. Names follow the reference's enums with the `V2TIM_` prefix
 * dropped: `FriendAllowType.NEED_CONFIRM` is `V2TIM_FRIEND_NEED_CONFIRM`.
 */

/** `V2TIMFriendAllowType`: who may add the user as a friend. */
export const FriendAllowType = { ALLOW_ANY: 0, NEED_CONFIRM: 1, DENY_ANY: 2 } as const;
export type FriendAllowType = (typeof FriendAllowType)[keyof typeof FriendAllowType];

/** `V2TIMFriendType`: a one-way (SINGLE) or two-way (BOTH) add or delete. */
export const FriendType = { SINGLE: 1, BOTH: 2 } as const;

/** `V2TIMFriendAcceptType`: accepting an application one-way (AGREE) or both ways (AGREE_AND_ADD). */
export const FriendAcceptType = { AGREE: 0, AGREE_AND_ADD: 1 } as const;

/** `V2TIMFriendApplicationType`: an application the user received (COME_IN) or sent (SEND_OUT). */
export const FriendApplicationType = { COME_IN: 1, SEND_OUT: 2, BOTH: 3 } as const;

/** `V2TIMFriendRelationType`, the answer of checkFriend. */
export const FriendRelationType = { NONE: 0, IN_MY_FRIEND_LIST: 1, IN_OTHER_FRIEND_LIST: 2, BOTH_WAY: 3 } as const;

/** `V2TIMGroupAddOpt`: how a non-member gets into a group. */
export const GroupAddOpt = { FORBID: 0, AUTH: 1, ANY: 2 } as const;
export type GroupAddOpt = (typeof GroupAddOpt)[keyof typeof GroupAddOpt];

/** `V2TIMGroupInfoChangeType`, the `type` of each change in onGroupInfoChanged. */
export const GroupInfoChangeType = {
  NAME: 1, INTRODUCTION: 2, NOTIFICATION: 3, FACE_URL: 4, OWNER: 5, CUSTOM: 6, SHUT_UP_ALL: 8, GROUP_ADD_OPT: 11,
} as const;

/** `V2TIMGroupApplicationHandleResult`. */
export const GroupApplicationHandleResult = { REFUSE: 0, AGREE: 1 } as const;

/** One friend application as the reference's `V2TIMFriendApplication`. */
export interface FriendApplication {
  /** The other user: the applicant for COME_IN, the user applied to for SEND_OUT. */
  userID: string;
  nickName: string;
  faceUrl: string;
  /** Seconds since the epoch, as the reference's. */
  addTime: number;
  addSource: string;
  addWording: string;
  type: number;
}

/** A field change of a group, the reference's `V2TIMGroupChangeInfo`. */
export interface GroupChangeInfo {
  type: number;
  key?: string;
  value?: string;
  boolValue?: boolean;
  intValue?: number;
}

/** A pending join request, the reference's `V2TIMGroupApplication`. */
export interface GroupApplication {
  groupID: string;
  fromUser: string;
  fromUserNickName: string;
  fromUserFaceUrl: string;
  toUser: string;
  /** Seconds since the epoch. */
  addTime: number;
  requestMsg: string;
  handledMsg: string;
  /** V2TIM_GROUP_JOIN_APPLICATION_NEED_APPROVED_BY_ADMIN (0): the only kind Confab has. */
  type: number;
  /** V2TIM_GROUP_APPLICATION_HANDLE_STATUS_UNHANDLED (0): handled ones leave the list. */
  handleStatus: number;
  handleResult: number;
}

/** checkFriend's answer for one user (`V2TIMFriendCheckResult`). */
export interface FriendCheckResult {
  userID: string;
  resultCode: number;
  resultInfo: string;
  resultType: number;
}
