// The grader's command line: arguments, exit codes, the JSON report.
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { format } from 'util';
import { expect } from 'chai';
import Mocha from 'mocha';
import { parseArgs, runCli } from '../scripts/grade';

const ROOT = path.join(__dirname, '..');

interface Run { code: number; stdout: string; stderr: string }
interface InProcessRun extends Run { /** What the grader's mocha reporter (spec) printed. */ reporter: string }

/** The real command (a separate node process), for the exit status. */
function gradeProcess(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['-r', 'ts-node/register/transpile-only', 'scripts/grade.ts', ...args], { cwd: ROOT, timeout: 120000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * mocha's reporters print through `Mocha.reporters.Base.consoleLog`, which this suite's own reporter
 * shares; `grade` points it at a collector while the grader runs, so the graded copy's own
 * "passing / failing" lines land in the run's result, not in this suite's log.
 */
const reporterBase = Mocha.reporters.Base as unknown as { consoleLog: (...args: unknown[]) => void };
const suiteConsoleLog = reporterBase.consoleLog;

/** The command line in this process (faster), collecting what it prints, its mocha reporter's lines included. */
async function grade(args: string[]): Promise<InProcessRun> {
  const lines: string[] = [];
  const errors: string[] = [];
  const reported: string[] = [];
  reporterBase.consoleLog = (...parts: unknown[]) => { reported.push(format(...parts).replace(/\u001b\[[0-9;]*m/g, '')); }; // colours off
  let code: number;
  try {
    code = await runCli(args, { log: (l) => lines.push(l), error: (l) => errors.push(l) });
  } finally {
    reporterBase.consoleLog = suiteConsoleLog;
  }
  return { code, stdout: lines.join('\n'), stderr: errors.join('\n'), reporter: reported.join('\n') };
}

describe('grade command line', () => {
  // Whatever happens in a test (a timeout leaves `grade` unfinished), this suite's reporter gets its output back.
  afterEach(() => { reporterBase.consoleLog = suiteConsoleLog; });

  it('parses options and rejects bad ones with the argument named', () => {
    const args = parseArgs(['lessons', '--questions', '1,Q9', '--files', 'questionnaire.ts', '--timeout', '500', '--strict', '--report', 'out.json']);
    expect(args).to.include({ dir: 'lessons', timeoutMs: 500, strict: true, report: 'out.json' });
    expect(args.questions).to.deep.equal([1, 9]);
    expect(args.files).to.deep.equal(['questionnaire']);
    expect(() => parseArgs([])).to.throw(/missing the lessons directory/);
    expect(() => parseArgs(['a', 'b'])).to.throw(/one lessons directory/);
    expect(() => parseArgs(['lessons', '--questions', '40'])).to.throw(/--questions: '40'/);
    expect(() => parseArgs(['lessons', '--timeout', 'soon'])).to.throw(/--timeout/);
    expect(() => parseArgs(['lessons', '--fast'])).to.throw(/unknown option '--fast'/);
  });

  it('exits 2 naming a lessons directory that does not exist', async () => {
    const run = await gradeProcess(['no-such-lessons-dir']);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.match(/lessons directory 'no-such-lessons-dir' does not exist/);
  });

  it('prints the rows and score, writes the JSON report; --strict exits 1 only on failures', async function () {
    this.timeout(120000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grade-cli-'));
    try {
      const report = path.join(dir, 'nested', 'report.json');
      const ok = await grade(['lessons', '--files', 'questionnaire', '--questions', '9,26', '--strict', '--report', report]);
      expect(ok.code, ok.stderr).to.equal(0);
      expect(ok.stdout).to.match(/^Q9\s+PASS\s+1\/1$/m);
      expect(ok.stdout).to.match(/Score: 2\/2 questions, 0\/0 chapter files, 2\/2 checks/);
      expect(ok.reporter, 'the spec reporter').to.match(/^\s*Q9$/m).and.match(/\b2 passing\b/).and.not.match(/failing/);
      const json = JSON.parse(fs.readFileSync(report, 'utf8')) as { score: { checksPassed: number }; results: unknown[] };
      expect(json.score.checksPassed).to.equal(2);
      expect(json.results).to.have.length(2);
      expect(fs.readdirSync(path.dirname(report))).to.deep.equal(['report.json']);

      const strict = await grade(['starter', '--files', 'questionnaire', '--questions', '26', '--strict', '--report', report]);
      expect(strict.code).to.equal(1);
      expect(strict.stdout).to.match(/^Q26\s+FAIL\s+0\/1\s+.*Not implemented yet: zipPairs \(Q26\)/m);
      expect(strict.reporter, 'the spec reporter').to.match(/\b0 passing\b/).and.match(/\b1 failing\b/).and.match(/Not implemented yet: zipPairs \(Q26\)/);
      const lenient = await grade(['starter', '--files', 'questionnaire', '--questions', '26', '--report', report]);
      expect(lenient.code).to.equal(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
