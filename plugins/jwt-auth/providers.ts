/**
 * Providers: named issuers whose keys live in the runner configuration. Their key
 * material is read once per process (value, environment variable or file) and
 * imported once per set of route algorithms.
 */
import type { Logger, ProviderSettings } from '../../runner/plugin-api/index.js';
import { ErrorCode, RunnerError } from '../../runner/plugin-api/index.js';
import { isJwsAlgorithm, type JwsAlgorithm } from './algorithms.js';
import { decodeSecret, importJwkSet, importPemKey, importSecretKey, type VerificationKey } from './keys.js';
import type { ProviderKeys } from './prepare.js';
import { resolveSecretSource, type ResolvedSource } from './secret-source.js';

interface ProviderMaterial {
  readonly settings: ProviderSettings;
  readonly secret: ResolvedSource | null;
  readonly publicKey: ResolvedSource | null;
  readonly jwks: ResolvedSource | null;
}

export class ProviderKeyStore {
  private readonly material = new Map<string, ProviderMaterial>();
  private readonly imported = new Map<string, Promise<ProviderKeys>>();

  constructor(providers: Readonly<Record<string, ProviderSettings>>, logger: Logger, env: NodeJS.ProcessEnv = process.env) {
    for (const [name, settings] of Object.entries(providers)) {
      const material: ProviderMaterial = {
        settings,
        secret: settings.secret === undefined ? null : resolveSecretSource(settings.secret, env),
        publicKey: settings.public_key === undefined ? null : resolveSecretSource(settings.public_key, env),
        jwks: settings.jwks === undefined ? null : resolveSecretSource(settings.jwks, env),
      };
      for (const [what, resolved] of [['secret', material.secret], ['public_key', material.publicKey], ['jwks', material.jwks]] as const) {
        if (resolved !== null && !resolved.ok) {
          // Routes using this provider will fail PrepareConf; say why once, at start-up.
          logger.error({ provider: name, field: what, problem: resolved.problem }, 'provider key material unavailable');
        }
      }
      this.material.set(name, material);
    }
  }

  /** Keys of provider `name` for the route's algorithms; rejects with ERR_CONFIG_INVALID. */
  keysFor(name: string, routeAlgorithms: readonly JwsAlgorithm[]): Promise<ProviderKeys> {
    const cacheKey = `${name}\u0000${[...routeAlgorithms].sort().join(',')}`;
    let keys = this.imported.get(cacheKey);
    if (keys === undefined) {
      keys = this.importKeys(name, routeAlgorithms);
      this.imported.set(cacheKey, keys);
      // A failed import is not cached: the operator may fix the environment or file.
      keys.catch(() => this.imported.delete(cacheKey));
    }
    return keys;
  }

  private async importKeys(name: string, routeAlgorithms: readonly JwsAlgorithm[]): Promise<ProviderKeys> {
    const material = this.material.get(name);
    const field = `provider`;
    if (material === undefined) {
      throw new RunnerError(ErrorCode.CONFIG_INVALID, `${field}: unknown provider "${name}"`);
    }
    const { settings } = material;
    const allowed = new Set(settings.algorithms.filter(isJwsAlgorithm));
    const algorithms = routeAlgorithms.filter((alg) => allowed.has(alg));
    if (algorithms.length === 0) {
      throw new RunnerError(
        ErrorCode.CONFIG_INVALID,
        `algorithms: provider "${name}" accepts none of [${routeAlgorithms.join(', ')}]`,
      );
    }
    const text = (resolved: ResolvedSource | null, what: string): string | null => {
      if (resolved === null) return null;
      if (!resolved.ok) {
        throw new RunnerError(ErrorCode.CONFIG_INVALID, `${field}: provider "${name}" ${what}: ${resolved.problem}`);
      }
      return resolved.text;
    };
    const keys: VerificationKey[] = [];
    const where = `providers.${name}`;
    const secret = text(material.secret, 'secret');
    if (secret !== null) {
      const bytes = decodeSecret(secret, settings.base64_secret, `${where}.secret`);
      keys.push(await importSecretKey(bytes, algorithms, `${where}.secret`));
    }
    const pem = text(material.publicKey, 'public_key');
    if (pem !== null) keys.push(await importPemKey(pem, algorithms, `${where}.public_key`));
    const jwksText = text(material.jwks, 'jwks');
    if (jwksText !== null) {
      let set: unknown;
      try {
        set = JSON.parse(jwksText);
      } catch (cause) {
        throw new RunnerError(ErrorCode.CONFIG_INVALID, `${where}.jwks: expected JWK Set JSON`, { cause });
      }
      keys.push(...(await importJwkSet(set, algorithms, `${where}.jwks`, 'throw')));
    }
    const jwksUri = settings.jwks_uri ?? null;
    if (keys.length === 0 && jwksUri === null) {
      throw new RunnerError(ErrorCode.CONFIG_INVALID, `${field}: provider "${name}" has no key for [${algorithms.join(', ')}]`);
    }
    const audience = settings.audience === undefined ? null : typeof settings.audience === 'string' ? [settings.audience] : [...settings.audience];
    return {
      issuer: settings.issuer,
      keys,
      jwksUri,
      allowInsecureJwksUri: settings.allow_insecure_jwks_uri,
      audience,
      algorithms,
    };
  }
}
