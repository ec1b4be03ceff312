/**
 * Provider key material from the runner configuration. A provider secret, PEM key or
 * JWK Set comes from an inline value, an environment variable or a file; it is read
 * once per runner process and never logged.
 */
import { readFileSync } from 'node:fs';
import type { ProviderSettings } from '../../runner/plugin-api/index.js';

type SecretSource = NonNullable<ProviderSettings['secret']>;

/** The text of a secret source, or an error message that names where it was looked for (never the value). */
export type ResolvedSource = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly problem: string };

export function resolveSecretSource(source: SecretSource, env: NodeJS.ProcessEnv = process.env): ResolvedSource {
  if (source.value !== undefined) {
    return { ok: true, text: source.value };
  }
  if (source.env !== undefined) {
    const text = env[source.env];
    return text === undefined || text === ''
      ? { ok: false, problem: `environment variable ${source.env} is not set` }
      : { ok: true, text };
  }
  if (source.file !== undefined) {
    try {
      // A trailing newline is an editor artefact, not part of the secret.
      return { ok: true, text: readFileSync(source.file, 'utf8').replace(/\r?\n$/, '') };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'read error';
      return { ok: false, problem: `file ${source.file} could not be read (${code})` };
    }
  }
  return { ok: false, problem: 'no value, env or file given' };
}
