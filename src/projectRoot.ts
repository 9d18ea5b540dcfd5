/**
 * Where the project is: the one root finder of the pack, used by the library (the `.cache/`
 * folder), the commands in scripts/ and the tests.
 */
import * as fs from 'fs';
import * as path from 'path';

/**
 * The nearest folder at or above `start` (default: this file's folder, in src/ or dist/src/)
 * holding both package.json and tsconfig.build.json; throws when there is none.
 */
export function projectRoot(start: string = __dirname): string {
  let dir = path.resolve(start);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'tsconfig.build.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no project root (package.json and tsconfig.build.json) at or above ${start}`);
    dir = parent;
  }
}
