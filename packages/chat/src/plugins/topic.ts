/** `@tencentcloud/lite-chat/plugins/topic` (see lite-plugin.ts). */
import { litePlugin } from '../lite-plugin.js';

export default litePlugin('topic');
