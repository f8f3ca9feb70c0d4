/** `@tencentcloud/lite-chat/plugins/conversation-group` (see lite-plugin.ts). */
import { litePlugin } from '../lite-plugin.js';

export default litePlugin('conversation-group');
