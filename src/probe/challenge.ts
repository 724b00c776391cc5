/**
 * WWW-Authenticate parsing (RFC 9110 §11.6.1): several challenges per header and several headers,
 * auth-params with token or quoted-string values (backslash escapes, commas inside quotes), token68.
 * Never throws: malformed input is a typed result.
 */
import { quote } from '../text/quote.js';

export interface Challenge {
  /** lower case: `bearer`, `basic`, ... */
  readonly scheme: string;
  /** parameter names in lower case */
  readonly params: Readonly<Record<string, string>>;
  readonly token68?: string;
}

export type ChallengeParse =
  | { readonly ok: true; readonly challenges: readonly Challenge[] }
  | { readonly ok: false; readonly error: string };

const TCHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*/;
const PARAM_START = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+[ \t]*=[ \t]*(?:"|[!#$%&'*+.^_`|~0-9A-Za-z-])/;

export function parseChallenges(header: string | readonly string[] | undefined): ChallengeParse {
  if (header === undefined) return { ok: true, challenges: [] };
  const values = typeof header === 'string' ? [header] : header;
  const all: Challenge[] = [];
  for (const v of values) {
    const r = parseOne(v);
    if (!r.ok) return r;
    all.push(...r.challenges);
  }
  return { ok: true, challenges: all };
}

function parseOne(s: string): ChallengeParse {
  if (s.length > 8192) return { ok: false, error: 'WWW-Authenticate longer than 8192 characters' };
  let i = 0;
  const out: Challenge[] = [];
  const ws = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < s.length && TCHAR.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  const sep = () => {
    for (;;) {
      ws();
      if (s[i] === ',') i++;
      else break;
    }
  };
  sep();
  while (i < s.length) {
    const schemeAt = i;
    const scheme = token();
    if (scheme === '') return { ok: false, error: `expected an auth scheme at column ${schemeAt + 1}` };
    const params: Record<string, string> = {};
    let token68: string | undefined;
    const spaced = s[i] === ' ' || s[i] === '\t';
    ws();
    if (spaced && i < s.length && s[i] !== ',') {
      // token68 form (`Negotiate abc==`) unless it reads as `name=value`
      const rest = s.slice(i);
      if (!PARAM_START.test(rest)) {
        const m = TOKEN68.exec(rest);
        if (!m) return { ok: false, error: `unexpected ${quote(s[i])} at column ${i + 1}` };
        token68 = m[0];
        i += m[0].length;
        ws();
        if (i < s.length && s[i] !== ',') return { ok: false, error: `unexpected ${quote(s[i])} after token68 at column ${i + 1}` };
      }
      if (token68 === undefined) {
        // auth-param list
        for (;;) {
          const nameAt = i;
          const name = token();
          if (name === '') return { ok: false, error: `expected a parameter name at column ${nameAt + 1}` };
          ws();
          if (s[i] !== '=') {
            if (Object.keys(params).length === 0) return { ok: false, error: `expected "=" after ${quote(name)} at column ${i + 1}` };
            i = nameAt; // next challenge's scheme
            break;
          }
          i++;
          ws();
          let value: string;
          if (s[i] === '"') {
            i++;
            value = '';
            let closed = false;
            while (i < s.length) {
              const c = s[i]!;
              if (c === '\\') {
                if (i + 1 >= s.length) break;
                value += s[i + 1];
                i += 2;
              } else if (c === '"') {
                i++;
                closed = true;
                break;
              } else {
                value += c;
                i++;
              }
            }
            if (!closed) return { ok: false, error: `unterminated quoted value for ${quote(name)}` };
          } else {
            value = token();
            if (value === '') return { ok: false, error: `missing value for ${quote(name)} at column ${i + 1}` };
          }
          const key = name.toLowerCase();
          if (!(key in params)) params[key] = value;
          ws();
          if (i >= s.length) break;
          if (s[i] !== ',') return { ok: false, error: `unexpected ${quote(s[i])} at column ${i + 1}` };
          sep();
          if (i >= s.length) break;
          // another param (`name =`) or another challenge (`Scheme ...`)?
          const save = i;
          token();
          ws();
          const isParam = s[i] === '=';
          i = save;
          if (!isParam) break;
        }
      }
    }
    out.push({ scheme: scheme.toLowerCase(), params, ...(token68 !== undefined && { token68 }) });
    ws();
    if (i < s.length && s[i] !== ',' && !TCHAR.test(s[i]!)) return { ok: false, error: `unexpected ${quote(s[i])} at column ${i + 1}` };
    sep();
  }
  return { ok: true, challenges: out };
}

export function bearerOf(challenges: readonly Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer');
}
