/** `@tencentcloud/lite-chat/plugins/avchatroom` (see lite-plugin.ts). */
import { litePlugin } from '../lite-plugin.js';

export default litePlugin('avchatroom');
