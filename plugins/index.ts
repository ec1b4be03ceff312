/**
 * The built-in runner plugins, in registration order. Adding a plugin means
 * adding its factory here; the runner registers exactly this list.
 */
import type { PluginFactory } from '../runner/plugin-api/index.js';
import { jwtAuthPlugin } from './jwt-auth/index.js';

export const builtinPlugins: readonly PluginFactory[] = [jwtAuthPlugin];
