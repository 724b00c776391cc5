/** Runs the command line in-process (`runCli`) with a given stdin, environment, files and prober. */
import type { Prober, ProbeSettings } from '../../src/probe/types.js';
import { runCli, type CliIo, type CliOutput } from '../../src/cli/main.js';
import { fakeProber, LICENSE } from './run.js';

export interface CliRun {
  readonly stdin?: string | Buffer;
  /** Environment; LICENSE_ID is the test license unless given (undefined removes it). */
  readonly env?: Record<string, string | undefined>;
  /** Files the command line may read (--config, the legacy plugin's config); anything else is ENOENT. */
  readonly files?: Record<string, string>;
  readonly prober?: Prober;
}

export interface CliRecorded extends CliOutput {
  /** The settings of every prober the CLI asked for, in order. */
  readonly proberSettings: ProbeSettings[];
  /** How often stdin was read. */
  readonly stdinReads: number;
}

export function testIo(opts: CliRun = {}): CliIo & { proberSettings: ProbeSettings[]; stdinReads: number } {
  const env: Record<string, string | undefined> = { LICENSE_ID: LICENSE, ...opts.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const io = {
    env,
    proberSettings: [] as ProbeSettings[],
    stdinReads: 0,
    readStdin: () => {
      io.stdinReads++;
      return opts.stdin ?? '';
    },
    readFile: (path: string) => {
      const text = opts.files?.[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
      return text;
    },
    createProber: (settings: ProbeSettings) => {
      io.proberSettings.push(settings);
      return opts.prober ?? fakeProber();
    },
  };
  return io;
}

export async function cli(argv: readonly string[], opts: CliRun = {}): Promise<CliRecorded> {
  const io = testIo(opts);
  const out = await runCli(argv, io);
  return { ...out, proberSettings: io.proberSettings, stdinReads: io.stdinReads };
}
