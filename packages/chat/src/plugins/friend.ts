/** `@tencentcloud/lite-chat/plugins/friend` (see lite-plugin.ts). */
import { litePlugin } from '../lite-plugin.js';

export default litePlugin('friend');
