/** The functionConfig schema check (ajv, compiled ahead of time by scripts/gen-validator.mjs). */
import type { ErrorObject } from 'ajv';
import validate from './generated/validate-schema.js';

export type SchemaError = Pick<ErrorObject, 'keyword' | 'instancePath' | 'params' | 'message'>;

export function validateFunctionConfig(config: unknown): SchemaError[] {
  if (validate(config)) return [];
  return (validate.errors ?? []).map(({ keyword, instancePath, params, message }) => ({ keyword, instancePath, params, message }));
}
