// Mocha root hooks: every test file runs on an initialised tensor backend.
//
// Nothing the tests start outlives them, however mocha ends (see scripts/reaper.ts): temporary
// folders go under one folder of this run (TMPDIR, inherited by every child), removed by the
// watchdog when this process ends; kernels and grading workers started here are killed with it;
// and the commands the tests start exit when this process is gone (FASTBOOK_EXIT_WITH_PARENT).
import { tempDir, EXIT_WITH_PARENT_ENV } from '../scripts/reaper';
import { initBackend, formatBackendReport } from '../src/backend';

process.env.TMPDIR = tempDir(`fastbook-tests-${process.pid}-`);
process.env[EXIT_WITH_PARENT_ENV] = '1';

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60000);
    const choice = await initBackend();
    if (!process.env.QUIET_BACKEND) console.log(formatBackendReport(choice));
  },
};
