import { expect } from 'chai';
import * as path from 'path';
import { medianRatios, parseArgs, ratios, whyChildFailed } from '../scripts/bench';
import { PHASES, WorkloadResult } from '../scripts/bench/workload';

describe('bench: command line and torch ratios', () => {
  it('defaults: every backend, 3 full-MNIST epochs like ch4_torch.py, the shared torch script', () => {
    const o = parseArgs([]);
    expect(o.backends).to.include.members(['cpu+blas', 'wasm', 'cpu']);
    expect([o.fullEpochs, o.seed, o.compareTorch, o.child]).to.deep.equal([3, 42, false, null]);
    expect(o.torchScript).to.equal(path.resolve(__dirname, '..', '..', 'shared', 'bench', 'ch4_torch.py'));
  });

  it('reads flags and backend aliases', () => {
    const o = parseArgs(['--backends', 'blas,js', '--full-epochs', '2', '--compare-torch', '--torch-script', '/tmp/x.py']);
    expect(o.backends).to.deep.equal(['cpu+blas', 'cpu']);
    expect([o.fullEpochs, o.compareTorch, o.torchScript]).to.deep.equal([2, true, '/tmp/x.py']);
    expect(parseArgs([]).cnnBudget).to.equal(300);
    expect(parseArgs(['--cnn-budget', '20']).cnnBudget).to.equal(20);
    expect([parseArgs([]).rounds, parseArgs(['--rounds', '3']).rounds]).to.deep.equal([1, 3]);
    expect([parseArgs([]).warmRepeats, parseArgs(['--warm-repeats', '4']).warmRepeats]).to.deep.equal([0, 4]);
  });

  it('has the reference script\'s phases, the ten-digit CNN epoch last', () => {
    expect(PHASES).to.deep.equal(['load', 'pixel_similarity', 'linear1_20ep', 'simple_net_40ep', 'full_mlp_epoch_median', 'cnn_epoch']);
  });

  it('rejects bad input naming the argument', () => {
    expect(() => parseArgs(['--full-epochs', '0'])).to.throw(/--full-epochs expects a positive integer, got '0'/);
    expect(() => parseArgs(['--backends', 'tpu'])).to.throw(/--backends: unknown tensor backend 'tpu'/);
    expect(() => parseArgs(['--frobnicate'])).to.throw(/unknown argument '--frobnicate'/);
    expect(() => parseArgs(['--seed'])).to.throw(/--seed needs a value/);
    expect(() => parseArgs(['--rounds', '1.5'])).to.throw(/--rounds expects a positive integer, got '1.5'/);
    expect(() => parseArgs(['--warm-repeats', '0'])).to.throw(/--warm-repeats expects a positive integer, got '0'/);
  });

  it('says why a backend\'s child failed: its error or the signal, and the phase it was in', () => {
    const warning = 'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced';
    expect(whyChildFailed({ status: null, signal: 'SIGSEGV', stdout: '', stderr: `${warning}\nbench phase: load\nbench phase: pixel_similarity\n` }))
      .to.equal('crashed (SIGSEGV) in phase pixel_similarity');
    expect(whyChildFailed({ status: 1, stdout: '', stderr: 'bench phase: load\nError: no MNIST files\n    at x\n' })).to.equal('Error: no MNIST files in phase load');
    expect(whyChildFailed({ status: 1, stdout: '', stderr: 'Error: the tensor backend cannot load\n' })).to.equal('Error: the tensor backend cannot load');
    expect(whyChildFailed({ status: 3, stdout: '', stderr: '' })).to.equal('exit code 3, no output');
  });

  it('ratios are ours / torch per phase, rounded to 2 places, skipping phases torch lacks', () => {
    const phases = Object.fromEntries(PHASES.map((p, i) => [p, { seconds: i + 1, peakRssMb: 1, liveTensors: 0 }]));
    const ours = { phases } as unknown as WorkloadResult;
    const r = ratios(ours, { load: 2, pixel_similarity: 3, linear1_20ep: 0.5, simple_net_40ep: 4 });
    expect(r).to.deep.equal({ load: 0.5, pixel_similarity: 0.67, linear1_20ep: 6, simple_net_40ep: 1 });
  });

  it('over several rounds, each phase\'s ratio is the median of the rounds\' ratios', () => {
    const odd = medianRatios([{ load: 1.5, cnn_epoch: 0.9 }, { load: 0.9, cnn_epoch: 1.2 }, { load: 1.1 }]);
    expect(odd).to.deep.equal({ load: 1.1, cnn_epoch: 1.05 });
    expect(medianRatios([{ pixel_similarity: 2 }, { pixel_similarity: 1.25 }])).to.deep.equal({ pixel_similarity: 1.63 });
    expect(medianRatios([])).to.deep.equal({});
  });
});
