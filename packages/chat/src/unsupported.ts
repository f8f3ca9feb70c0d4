/**
 * Methods of the reference's Web SDK (3.6) that Confab does not offer yet. Each exists on
 * the instance and rejects with 3122 NO_USE (`errors.ts notSupported`) — after the same
 * readiness check as every other method — so an app's feature detection by error code
 * works and nothing fails with a TypeError. When the core gains one (revoke, message
 * deletion, remind types, read receipts, media are under way), its name leaves this list
 * and a method is written in the matching module; docs/web-sdk.md tracks the status.
 */
export const UNSUPPORTED_METHODS = [
  // messages
  'revokeMessage', 'deleteMessage', 'modifyMessage', 'translateText', 'convertVoiceToText',
  'sendMessageReadReceipt', 'getMessageReadReceiptList', 'getGroupMessageReadMemberList',
  'setMessageExtensions', 'getMessageExtensions', 'deleteMessageExtensions',
  'addMessageReaction', 'removeMessageReaction', 'getMessageReactions', 'getAllUserListOfMessageReaction',
  'searchCloudMessages', 'searchCloudUsers', 'searchCloudGroups', 'searchCloudGroupMembers',
  // conversations
  'setMessageRemindType', 'setAllReceiveMessageOpt', 'getAllReceiveMessageOpt',
  'getConversationGroupList', 'createConversationGroup', 'deleteConversationGroup', 'renameConversationGroup',
  'addConversationsToGroup', 'deleteConversationsFromGroup',
  // groups
  'updateGroupProfile', 'changeGroupOwner', 'searchGroupByID', 'getGroupApplicationList', 'handleGroupApplication',
  'pinGroupMessage', 'getPinnedGroupMessageList', 'initGroupAttributes', 'setGroupAttributes', 'deleteGroupAttributes',
  'getGroupAttributes', 'setGroupCounters', 'increaseGroupCounter', 'decreaseGroupCounter', 'getGroupCounters',
  'getJoinedCommunityList', 'createTopicInCommunity', 'deleteTopicFromCommunity', 'updateTopicProfile', 'getTopicList',
  'getGroupMemberProfile', 'addGroupMember', 'deleteGroupMember', 'setGroupMemberNameCard', 'setGroupMemberMuteTime',
  'setGroupMemberRole', 'setGroupMemberCustomField', 'getGroupOnlineMemberCount', 'markGroupMemberList',
  // users and relations
  'setSelfStatus', 'getUserStatus', 'subscribeUserStatus', 'unsubscribeUserStatus',
  'addToBlacklist', 'removeFromBlacklist',
  'checkFriend', 'updateFriend', 'getFriendProfile', 'refuseFriendApplication', 'deleteFriendApplication',
  'acceptFriendApplication', 'setFriendApplicationRead', 'createFriendGroup', 'renameFriendGroup', 'deleteFriendGroup',
  'addToFriendGroup', 'removeFromFriendGroup',
  'followUser', 'unfollowUser', 'getMyFollowingList', 'getMyFollowersList', 'getMutualFollowersList',
  'getUserFollowInfo', 'checkFollowType',
  // signaling (the reference's TSignaling plugin)
  'addSignalingListener', 'removeSignalingListener', 'invite', 'inviteSync', 'inviteInGroup', 'inviteInGroupSync',
  'cancel', 'accept', 'reject', 'getSignalingInfo', 'modifyInvitation',
] as const;

export type UnsupportedMethod = (typeof UNSUPPORTED_METHODS)[number];

/** The instance's type for those methods: each takes the reference's arguments and rejects. */
export type UnsupportedMethods = { [K in UnsupportedMethod]: (...args: unknown[]) => Promise<never> };

/**
 * Reference methods that are whitelisted before SDK_READY (`mr` in its runtime): they
 * reject with 3122 even when the instance is not ready, instead of the not-ready code.
 */
export const CALLABLE_BEFORE_READY: ReadonlySet<string> = new Set([
  'getGroupOnlineMemberCount', 'addSignalingListener', 'removeSignalingListener',
]);
