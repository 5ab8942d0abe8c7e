// The tool's version: a build-time constant (src/build-info.ts, written by `npm run build` from package.json),
// the same in the npm install and the single executable, and never read from a file at run time. The package
// root (where built-in rules and the rule index are) is src/package-files.ts's.
import {BUILD_INFO} from './build-info.js';

export {PACKAGE_ROOT} from './package-files.js';

export const TOOL_VERSION: string = BUILD_INFO.version;
