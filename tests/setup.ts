// Mocha root hooks: every test file runs on an initialised tensor backend.
import { initBackend, formatBackendReport } from '../src/backend';

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60000);
    const choice = await initBackend();
    if (!process.env.QUIET_BACKEND) console.log(formatBackendReport(choice));
  },
};
