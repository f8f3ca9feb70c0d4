/** `@tencentcloud/lite-chat/plugins/signaling` (see lite-plugin.ts). */
import { litePlugin } from '../lite-plugin.js';

export default litePlugin('signaling');
