/**
 * The JWS `alg` values the runner knows (RFC 7518, plus `Ed25519` from RFC 9864),
 * shared by the runner config's providers and jwt-auth's route conf. `none` is
 * deliberately absent: it can never be listed, so it can never pass.
 */
export const JWS_ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

export type JwsAlgorithm = (typeof JWS_ALGORITHMS)[number];
