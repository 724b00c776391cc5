/** Where the license id comes from, in order: license.id, license.fromEnv, a kots License item, env LICENSE_ID. */
import { isMap, type YAMLMap } from 'yaml';
import type { Config } from '../config/config.js';
import { DEFAULTS } from '../config/config.js';
import { scalarString } from '../read/input.js';

export interface LicenseSource {
  readonly id?: string;
  /** `kots.io/v1beta1` License items in the input (left out of the output unless they belong to a kpt package file). */
  readonly items: readonly YAMLMap[];
}

export function findLicense(config: Config, items: readonly YAMLMap[], env: Readonly<Record<string, string | undefined>>): LicenseSource {
  const licenseItems = items.filter((i) => scalarString(i.get('kind', true)) === 'License' && scalarString(i.get('apiVersion', true)) === 'kots.io/v1beta1');
  const fromItem = licenseItems
    .map((i) => {
      const spec = i.get('spec', true);
      return isMap(spec) ? scalarString(spec.get('licenseID', true)) : undefined;
    })
    .find((id) => id !== undefined && id !== '');
  const explicitEnv = config.licenseFromEnv !== DEFAULTS.licenseFromEnv ? nonEmpty(env[config.licenseFromEnv]) : undefined;
  const id = nonEmpty(config.licenseId) ?? explicitEnv ?? fromItem ?? nonEmpty(env[config.licenseFromEnv]);
  return { ...(id !== undefined && { id }), items: licenseItems };
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === '' ? undefined : s.trim();
}
