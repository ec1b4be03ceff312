/** Worker-thread entry of {@link mintTokens}: mints one range and posts the tokens back. */
import { parentPort, workerData } from 'node:worker_threads';
import { mintTokensHere } from './tokens.js';
import type { MintRange, SigningMaterial } from './tokens.js';

const { material, range } = workerData as { material: SigningMaterial; range: MintRange };
parentPort?.postMessage(mintTokensHere(material, range));
