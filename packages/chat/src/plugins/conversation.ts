/** `@tencentcloud/lite-chat/plugins/conversation` (see lite-plugin.ts). */
import { litePlugin } from '../lite-plugin.js';

export default litePlugin('conversation');
