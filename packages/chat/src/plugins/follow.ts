/** `@tencentcloud/lite-chat/plugins/follow` (see lite-plugin.ts). */
import { litePlugin } from '../lite-plugin.js';

export default litePlugin('follow');
