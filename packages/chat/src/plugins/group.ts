/** `@tencentcloud/lite-chat/plugins/group` (see lite-plugin.ts). */
import { litePlugin } from '../lite-plugin.js';

export default litePlugin('group');
