/** `@tencentcloud/lite-chat/plugins/offline-message-synchronizer` (see lite-plugin.ts). */
import { litePlugin } from '../lite-plugin.js';

export default litePlugin('offline-message-synchronizer');
