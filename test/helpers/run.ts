/** Runs the pipeline in-process with a scripted prober; the prober records what it was asked. */
import { parse } from 'yaml';
import type { Prober, ProbeOutcome } from '../../src/probe/types.js';
import { formatReference } from '../../src/reference/parse.js';
import { run, type RunOptions, type RunOutput } from '../../src/run.js';

export interface FakeProber extends Prober {
  readonly asked: string[];
}

/** Answers from a table keyed by the normalised reference; anything else is a test failure. */
export function fakeProber(answers: Record<string, ProbeOutcome> = {}): FakeProber {
  const asked: string[] = [];
  return {
    asked,
    async probeAll(refs) {
      const out = new Map<string, ProbeOutcome>();
      for (const ref of refs) {
        const key = formatReference(ref);
        asked.push(key);
        const answer = answers[key];
        if (!answer) throw new Error(`unexpected probe of ${key}`);
        out.set(key, answer);
      }
      return out;
    },
    async close() {},
  };
}

export const LICENSE = 'lic-3f9a1c7e-secret';

export async function runFn(
  input: string,
  opts: { env?: Record<string, string | undefined>; prober?: Prober; options?: RunOptions } = {},
): Promise<RunOutput & { parsed: any }> {
  const prober = opts.prober ?? fakeProber();
  const out = await run(input, { env: opts.env ?? { LICENSE_ID: LICENSE }, createProber: () => prober }, opts.options);
  return { ...out, parsed: out.stdout ? parse(out.stdout) : undefined };
}

/** A ResourceList around items (YAML text, already indented as list entries) and a functionConfig body. */
export function resourceList(items: string, config = 'appSlug: acme\n  images:\n    private: ["quay.io/acme/**"]\n    public: ["docker.io/**"]'): string {
  return `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
${items}
functionConfig:
  apiVersion: fn.proxy-private-images.dev/v1alpha1
  kind: ProxyPrivateImages
  ${config}
`;
}
