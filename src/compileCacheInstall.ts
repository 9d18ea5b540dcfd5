/**
 * Imported first by src/tfjs.ts, before TensorFlow.js: from here on, TensorFlow.js's bundles and
 * this library load their compiled bytecode from the cache `npm run build` made (src/compileCache.ts).
 */
import { installCompileCache } from './compileCache';

installCompileCache();
