/**
 * `pixelprop COMMAND ...`: the command-line face of the library. Each command lives in its own module and uses only
 * the library's public API (src/index.ts). Errors a user can fix print one line and exit with code 2; anything
 * else is a bug and prints its stack (exit 1).
 */
import { PixelpropError } from '../gpu/errors.js';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number | void>;
}

const commands: Record<string, () => Promise<Command>> = {
  classify: async () => (await import('./classify.js')).command,
  saliency: async () => (await import('./saliency.js')).command,
  attribute: async () => (await import('./attribute.js')).command,
  evaluate: async () => (await import('./evaluate.js')).command,
  fool: async () => (await import('./fool.js')).command,
  classviz: async () => (await import('./classviz.js')).command,
  demo: async () => (await import('./demo.js')).command,
  run: async () => (await import('./run-onnx.js')).command,
  info: async () => (await import('./info.js')).command,
  gradcheck: async () => (await import('./gradcheck.js')).command,
};

async function help(): Promise<string> {
  const lines = ['pixelprop — what a CNN looks at, computed by a hand-written WebGPU engine', '', 'commands:'];
  for (const load of Object.values(commands)) {
    const c = await load();
    lines.push(`  ${c.name.padEnd(10)} ${c.summary}`);
  }
  lines.push('', "'pixelprop COMMAND --help' shows a command's options.");
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      console.log(await help());
      return name ? 0 : 2;
    }
    if (name === '--version') {
      const { version } = await import('./version.js');
      console.log(version());
      return 0;
    }
    const load = commands[name];
    if (!load) throw new PixelpropError(`unknown command '${name}' (commands: ${Object.keys(commands).join(', ')})`);
    const command = await load();
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(`usage: ${command.usage}`);
      return 0;
    }
    const code = await command.run(rest);
    return code ?? 0;
  } catch (e) {
    if (e instanceof PixelpropError) {
      console.error(`pixelprop: ${e.message}`);
      return 2;
    }
    console.error(e);
    return 1;
  }
}
