/**
 * The ten-digit CNN of the further-research notebook (the library's Conv2d, full MNIST, 60,000 images) on
 * one backend, one epoch by default: prints one JSON line (backend report, seconds, test accuracy).
 * Used by scripts/gpu-check.sh. usage: gpu-check [--backend NAME] [--epochs N]
 */
import { initBackend, formatBackendReport } from '../src/backend';
import { trainTenDigits } from '../lessons/further/fullMnist';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string, fallback: string): string => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
  };
  const backend = flag('--backend', 'webgpu');
  const epochs = Number(flag('--epochs', '1'));
  const choice = await initBackend(backend);
  const run = await trainTenDigits('cnn', { epochs, progress: false });
  process.stdout.write(`${JSON.stringify({
    report: formatBackendReport(choice), model: 'ten-digit CNN', epochs: run.epochs, seconds: Number(run.seconds.toFixed(3)),
    seconds_per_epoch: Number((run.seconds / run.epochs).toFixed(3)), test_accuracy: run.testAccuracy, parameters: run.parameters,
  })}\n`);
}

main().catch((err: unknown) => {
  process.stdout.write(`${JSON.stringify({ error: (err instanceof Error ? err.message : String(err)).split('\n')[0] })}\n`);
  process.exitCode = 1;
});
