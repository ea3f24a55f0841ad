/**
 * Kernel benchmark (`npm run bench:kernels`): the kernel table of kernel-table.ts — every version of each kernel side
 * by side at SqueezeNet 1.1's, MobileNetV2's and ResNeXt-50's shapes — on this machine's adapter.
 *
 *   node dist/bench/kernels.js [--batch N] [--smoke] [--json] [--only depthwise,grouped,…: convolutions whose name has one]
 */
import { createDevice } from '../src/index.js';
import { argFlag, isMain } from './cli.js';
import { kernelBenchmark } from './kernel-table.js';
import { kernelTable } from './tables.js';

async function main(): Promise<void> {
  const batchArg = process.argv.indexOf('--batch');
  const batch = batchArg >= 0 ? Number(process.argv[batchArg + 1]) : 1;
  const gpu = await createDevice();
  const onlyArg = process.argv.indexOf('--only');
  const only = onlyArg >= 0 ? process.argv[onlyArg + 1]!.split(',') : undefined;
  const rows = await kernelBenchmark(gpu, { batch, smoke: argFlag('smoke'), ...(only && { only }) });
  if (argFlag('json')) {
    console.log(JSON.stringify({ adapter: gpu.adapterName, kernels: rows }, null, 2));
  } else {
    console.log(`pixelprop kernels on ${gpu.adapterName}, batch ${batch} (${rows[0]?.clock ?? ''})\n`);
    console.log(kernelTable(rows));
  }
  gpu.destroy();
}

if (isMain(import.meta.url)) await main();
