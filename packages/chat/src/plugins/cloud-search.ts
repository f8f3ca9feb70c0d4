/** `@tencentcloud/lite-chat/plugins/cloud-search` (see lite-plugin.ts). */
import { litePlugin } from '../lite-plugin.js';

export default litePlugin('cloud-search');
