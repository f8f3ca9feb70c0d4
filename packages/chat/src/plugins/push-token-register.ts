/** `@tencentcloud/lite-chat/plugins/push-token-register` (see lite-plugin.ts). */
import { litePlugin } from '../lite-plugin.js';

export default litePlugin('push-token-register');
