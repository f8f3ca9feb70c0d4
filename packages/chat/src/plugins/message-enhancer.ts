/** `@tencentcloud/lite-chat/plugins/message-enhancer` (see lite-plugin.ts). */
import { litePlugin } from '../lite-plugin.js';

export default litePlugin('message-enhancer');
