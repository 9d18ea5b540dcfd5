/**
 * TensorFlow.js as the pack uses it, and the only place that loads it. Its types are the core API's
 * alone (`@tensorflow/tfjs-core`, with the chained tensor methods as one declaration: see
 * ./tensorMethods.ts): the `@tensorflow/tfjs` bundle's types add its layers, converter, data and
 * WebGL parts, which the pack never uses, and some 140 separate declarations of the chained methods;
 * together they made a notebook cell's type check about 1.5 times as long. At run time the bundle is
 * loaded as before: it is what registers the gradients, the chained methods and the 'cpu' backend
 * for Node (tfjs-core ships those only as ES modules). Other backends are loaded on demand by
 * ./backend.ts.
 */
import './compileCacheInstall'; // before TensorFlow.js: its compiled bytecode comes from the cache
import * as tf from '@tensorflow/tfjs-core';
import './tensorMethods';

// `require`, not `import`: an import would put the bundle's types back into every program that
// reads the pack's declarations (a notebook's cells).
require('@tensorflow/tfjs');

export { tf };
