/** `@tencentcloud/lite-chat/plugins/rich-media-message` (see lite-plugin.ts). */
import { litePlugin } from '../lite-plugin.js';

export default litePlugin('rich-media-message');
